/*!
 * Università degli Studi di Perugia, enrolment help desk: the embeddable chat widget.
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *
 * Options, as data-* attributes of that script tag:
 *   data-lang="en"        start in English (the student's own switch, once used, wins)
 *   data-open="true"      open the panel at once
 *   data-position="left"  the launcher in the bottom-left corner (default: bottom-right)
 *   data-offset="80"      the launcher and the panel that many px higher (0-400), above what
 *                         the page keeps in that corner (a cookie banner, a footer link)
 *   data-mode="page" data-target="#selector"
 *                         render the panel inline inside that element: no launcher
 *   data-view="ticket"    (page mode) open on the ticket look-up instead of the chat
 *
 * Speaks docs/protocol.md (Socket.IO namespace /chat) and the HTTP API of CONTRACT.md section 4.
 * Plain ES2019, no build step. The DOM is built with textContent only: nothing that comes from
 * the server or the student is ever parsed as HTML.
 *
 * One file, so that one script tag embeds it. Its sections, in this order, each under a banner
 * comment "----- name: what it holds -----":
 *   load once    a second copy of this script stops at once
 *   texts        the widget's own labels, Italian and English
 *   setup        where we come from, the data-* options, storage, the state S, T()
 *   DOM helpers  h(), icons, texts that follow the language switch, safe links
 *   formatting   sizes, dates, the attachment check
 *   HTTP         XHR, for upload progress and blobs
 *   socket       the Socket.IO client, loaded on first use; the /chat connection
 *   build        the panel: chat, look-up and ticket views; the language switch
 *   panel        open, close, keyboard, which view shows
 *   chat         transcript, prompt, quick replies, uploads, restart
 *   tickets      look-up, a ticket's messages, reply, live updates
 *   rating       the stars of a closed ticket (also opened from the closing mail's link)
 *   wait         a waiting ticket's place in the queue, live, in the chat and the ticket view
 *   privacy      the notice linked before personal data is asked; "download your data"
 *   mount        into the page, or inside an element in page mode
 */
(() => {
  "use strict";

  /* ----- load once: the first copy owns the page ----- */

  // Safe to load twice: the first copy owns the page, any later copy stops here.
  const HOST_ID = "unipg-helpdesk-widget";
  // (an element with id="unipgHelpdesk" is a window property too: only our own object counts)
  if ((window.unipgHelpdesk && window.unipgHelpdesk.version) || document.getElementById(HOST_ID)) return;
  const api = (window.unipgHelpdesk = { version: 1 });

  /* ----- texts: what the widget itself shows (everything the bot says comes translated) ----- */

  const STRINGS = {
    it: {
      launcher: "Assistenza immatricolazioni",
      title: "Assistenza immatricolazioni",
      subtitle: "Università degli Studi di Perugia",
      langSwitch: "EN",
      langSwitchLabel: "EN: switch to English",
      langSwitchLang: "en",
      restart: "Ricomincia",
      restartAsk: "Ricominciare da capo? Le risposte date finora andranno perse.",
      restartYes: "Sì, ricomincia",
      restartNo: "Annulla",
      close: "Chiudi",
      log: "Conversazione",
      faqMaybe: "Risposta possibile",
      options: "Risposte rapide",
      you: "Tu:",
      inputLabel: "Scrivi un messaggio",
      placeholder: "Scrivi qui…",
      send: "Invia",
      chooseFile: "Scegli un file",
      fileHint: "PDF, PNG o JPEG, al massimo 2 MB: le foto più grandi le riduciamo noi",
      uploading: "caricamento {pct}%",
      fileTooBig: "Il file è troppo grande: il massimo è 2 MB.",
      fileWrongType: "Puoi allegare solo file PDF, PNG o JPEG.",
      fileEmpty: "Il file è vuoto (0 byte): sceglilo di nuovo; se è salvato nel cloud, scaricalo prima sul dispositivo.",
      offline: "Connessione persa, riprovo…",
      botTyping: "L'assistente sta scrivendo…",
      operatorTyping: "L'operatore sta scrivendo…",
      copy: "Copia",
      copyLabel: "Copia il numero del ticket",
      copied: "Copiato!",
      copyManual: "Copia non riuscita: il numero è selezionato, copialo a mano.",
      ticketNumber: "Numero del ticket",
      statusLink: "Verifica lo stato",
      openTicket: "Apri il ticket",
      newTab: "(si apre in una nuova scheda)",
      networkError: "Impossibile contattare il servizio. Controlla la connessione e riprova.",
      genericError: "Qualcosa è andato storto. Riprova.",
      lookupTitle: "Verifica lo stato di un ticket",
      lookupIntro: "Inserisci l'email indicata nella richiesta e il numero del ticket che hai ricevuto.",
      email: "Email",
      number: "Numero del ticket",
      numberHint: "es. 000412",
      lookup: "Cerca il ticket",
      lookupMissing: "Inserisci l'email e il numero del ticket.",
      backToChat: "Torna alla chat",
      otherTicket: "Cerca un altro ticket",
      ticket: "Ticket",
      st_open: "Aperto",
      st_open_help: "Abbiamo ricevuto la richiesta: un operatore ti risponderà qui e via email.",
      st_awaiting_user: "In attesa di risposta utente",
      st_awaiting_user_help: "L'operatore ti ha chiesto altre informazioni: rispondi qui sotto.",
      closesAt: "Se non rispondi entro {day}, chiuderemo il ticket: potrai comunque aprirne uno nuovo collegato a questo.",
      st_closed: "Chiuso",
      st_closed_help: "Il ticket è chiuso. Se ti serve ancora aiuto, apri un nuovo ticket collegato a questo.",
      operator: "Ti sta aiutando: {name}",
      operatorClosed: "Ha seguito la richiesta: {name}",
      noOperator: "Nessun operatore ha ancora preso in carico la richiesta.",
      messages: "Messaggi",
      author_student: "Tu",
      author_operator: "Operatore",
      author_system: "Assistenza",
      download: "Scarica",
      downloadError: "Impossibile scaricare il file. Riprova.",
      replyLabel: "La tua risposta",
      attach: "Allega un file",
      removeFile: "Togli l'allegato {name}",
      fileChosen: "File allegato alla risposta: {name}.",
      sendReply: "Invia la risposta",
      sending: "Invio in corso…",
      sent: "Messaggio inviato.",
      cut: "Il messaggio può essere lungo al massimo {max} caratteri: il resto è stato tagliato. Se serve, scrivilo in due messaggi.",
      emptyReply: "Scrivi un messaggio o allega un file.",
      closedNote: "Questo ticket è chiuso e non accetta nuovi messaggi.",
      closedDuplicate: "Questo ticket è chiuso: la stessa richiesta prosegue nel ticket {number}. Per seguirla cerca il ticket {number} con la tua email.",
      st_duplicate_help: "Chiuso come duplicato: l'assistenza prosegue nel ticket {number}.",
      newTicket: "Apri un nuovo ticket",
      followTicket: "Apri il ticket {number}",
      closedUnsent: "Il messaggio che stavi scrivendo non è stato inviato: se apri un nuovo ticket, lo ritroverai già scritto.",
      sessionExpired: "Non è stato possibile aprire il ticket: cercalo di nuovo con email e numero.",
      sessionExpiredKept:
        "Non è stato possibile aprire il ticket: cercalo di nuovo con email e numero. Il messaggio che stavi scrivendo non è stato inviato ma non è perso: lo ritroverai pronto da inviare.",
      rateTitle: "Com'è andata?",
      rateIntro: "Valuta l'assistenza ricevuta: basta toccare una stella. Se vuoi lasciare un commento, scrivilo prima.",
      rateComment: "Commento (facoltativo)",
      rateStars: "Il tuo voto, da 1 a 5 stelle",
      rateStar: "{n} su 5: {label}",
      rate1: "pessima",
      rate2: "scarsa",
      rate3: "nella media",
      rate4: "buona",
      rate5: "ottima",
      rateDone: "La tua valutazione: {n} su 5. Grazie!",
      waitFirst: "La tua richiesta è la prossima in coda",
      waitAhead1: "Prima della tua c'è una richiesta in coda",
      waitAhead: "Prima della tua ci sono {n} richieste in coda",
      waitExpected: "{place}: al ritmo attuale dell'ufficio ti risponderemo tra circa {time}.",
      waitLong: "{place}: al ritmo attuale dell'ufficio ci vorrà più di un giorno.",
      waitNote: "È una stima basata sulle risposte degli ultimi 7 giorni e non tiene conto degli orari d'ufficio: di sera, nel fine settimana e nei giorni festivi l'attesa si allunga fino alla riapertura.",
      waitNoteHours: "È una stima basata sulle risposte degli ultimi 7 giorni, in orario d'ufficio.",
      waitOnDay: "{place}: al ritmo attuale dell'ufficio ti risponderemo {day}.",
      waitClosed: "{place}. L'ufficio ora è chiuso e riapre {when}.",
      waitClosedDay: "{place}. L'ufficio ora è chiuso e riapre {when}; al ritmo attuale ti risponderemo {day}.",
      today: "oggi",
      tomorrow: "domani",
      dayAt: "{day} alle {time}",
      officeTime: "{time} (ora italiana)",
      waitMin1: "un minuto",
      waitMins: "{n} minuti",
      waitHour1: "un'ora",
      waitHour1Half: "un'ora e mezza",
      waitHours: "{n} ore",
      waitHoursHalf: "{n} ore e mezza",
      privacyNotice: "I dati che ti chiediamo servono solo a rispondere alla tua richiesta.",
      privacyLink: "Leggi l'informativa privacy",
      exportData: "Scarica i tuoi dati",
      exportName: "dati-personali-{number}.json",
      exportError: "Impossibile scaricare i tuoi dati. Riprova.",
    },
    en: {
      launcher: "Enrolment help desk",
      title: "Enrolment help desk",
      subtitle: "University of Perugia",
      langSwitch: "IT",
      langSwitchLabel: "IT: passa all'italiano",
      langSwitchLang: "it",
      restart: "Start over",
      restartAsk: "Start over? The answers you gave so far will be lost.",
      restartYes: "Yes, start over",
      restartNo: "Cancel",
      close: "Close",
      log: "Conversation",
      faqMaybe: "Possible answer",
      options: "Quick replies",
      you: "You:",
      inputLabel: "Write a message",
      placeholder: "Write here…",
      send: "Send",
      chooseFile: "Choose a file",
      fileHint: "PDF, PNG or JPEG, 2 MB at most: we make larger photos smaller",
      uploading: "uploading {pct}%",
      fileTooBig: "The file is too large: 2 MB at most.",
      fileWrongType: "Only PDF, PNG or JPEG files can be attached.",
      fileEmpty: "The file is empty (0 bytes): choose it again; if it is in a cloud drive, download it to your device first.",
      offline: "Connection lost, retrying…",
      botTyping: "The assistant is typing…",
      operatorTyping: "The operator is typing…",
      copy: "Copy",
      copyLabel: "Copy the ticket number",
      copied: "Copied!",
      copyManual: "Could not copy: the number is selected, copy it by hand.",
      ticketNumber: "Ticket number",
      statusLink: "Check its status",
      openTicket: "Open the ticket",
      newTab: "(opens in a new tab)",
      networkError: "The service cannot be reached. Check your connection and try again.",
      genericError: "Something went wrong. Please try again.",
      lookupTitle: "Check the status of a ticket",
      lookupIntro: "Enter the email you gave in your request and the ticket number you received.",
      email: "Email",
      number: "Ticket number",
      numberHint: "e.g. 000412",
      lookup: "Find the ticket",
      lookupMissing: "Enter the email and the ticket number.",
      backToChat: "Back to the chat",
      otherTicket: "Find another ticket",
      ticket: "Ticket",
      st_open: "Open",
      st_open_help: "We have your request: an operator will answer here and by email.",
      st_awaiting_user: "Awaiting your reply",
      st_awaiting_user_help: "The operator asked you for more information: reply below.",
      closesAt: "If you do not reply by {day}, we will close the ticket: you can still open a new one linked to it.",
      st_closed: "Closed",
      st_closed_help: "The ticket is closed. If you still need help, open a new ticket linked to it.",
      operator: "Handled by: {name}",
      operatorClosed: "Handled by: {name}",
      noOperator: "No operator has taken the request yet.",
      messages: "Messages",
      author_student: "You",
      author_operator: "Operator",
      author_system: "Help desk",
      download: "Download",
      downloadError: "The file could not be downloaded. Please try again.",
      replyLabel: "Your reply",
      attach: "Attach a file",
      removeFile: "Remove the attachment {name}",
      fileChosen: "File attached to the reply: {name}.",
      sendReply: "Send the reply",
      sending: "Sending…",
      sent: "Message sent.",
      cut: "A message can be at most {max} characters long: the rest was cut. If you need to, send it in two messages.",
      emptyReply: "Write a message or attach a file.",
      closedNote: "This ticket is closed and takes no new messages.",
      closedDuplicate: "This ticket is closed: the same request continues in ticket {number}. To follow it, look up ticket {number} with your email.",
      st_duplicate_help: "Closed as a duplicate: we carry on helping you in ticket {number}.",
      newTicket: "Open a new ticket",
      followTicket: "Open ticket {number}",
      closedUnsent: "The message you were writing was not sent: if you open a new ticket, you will find it already written.",
      sessionExpired: "The ticket could not be opened: look it up again with email and number.",
      sessionExpiredKept:
        "The ticket could not be opened: look it up again with email and number. The message you were writing was not sent but is not lost: you will find it ready to send.",
      rateTitle: "How did it go?",
      rateIntro: "Rate the help you received: one tap on a star is enough. To leave a comment, write it first.",
      rateComment: "Comment (optional)",
      rateStars: "Your rating, from 1 to 5 stars",
      rateStar: "{n} of 5: {label}",
      rate1: "very poor",
      rate2: "poor",
      rate3: "average",
      rate4: "good",
      rate5: "excellent",
      rateDone: "Your rating: {n} of 5. Thank you!",
      waitFirst: "Your request is next in the queue",
      waitAhead1: "There is one request before yours in the queue",
      waitAhead: "There are {n} requests before yours in the queue",
      waitExpected: "{place}: at the office's current pace we will answer you in about {time}.",
      waitLong: "{place}: at the office's current pace it will take more than a day.",
      waitNote: "This is an estimate from the last 7 days' answers and does not account for office hours: in the evening, at weekends and on holidays the wait lasts until the office reopens.",
      waitNoteHours: "This is an estimate from the last 7 days' answers, in office hours.",
      waitOnDay: "{place}: at the office's current pace we will answer you {day}.",
      waitClosed: "{place}. The office is closed now and reopens {when}.",
      waitClosedDay: "{place}. The office is closed now and reopens {when}; at its current pace we will answer you {day}.",
      today: "today",
      tomorrow: "tomorrow",
      dayAt: "{day} at {time}",
      officeTime: "{time} (Italian time)",
      waitMin1: "a minute",
      waitMins: "{n} minutes",
      waitHour1: "an hour",
      waitHour1Half: "an hour and a half",
      waitHours: "{n} hours",
      waitHoursHalf: "{n} and a half hours",
      privacyNotice: "The data we ask you for is used only to answer your request.",
      privacyLink: "Read the privacy notice",
      exportData: "Download your data",
      exportName: "personal-data-{number}.json",
      exportError: "Your data could not be downloaded. Please try again.",
    },
  };

  /* ----- setup: where we come from, our options, storage, the state ----- */

  const script =
    document.currentScript ||
    Array.from(document.querySelectorAll("script[src]")).find((s) => /\/widget\.js([?#].*)?$/.test(s.src));
  const ORIGIN = script ? new URL(script.src, location.href).origin : location.origin;
  const STATIC = ORIGIN + "/static/";
  const opt = script ? script.dataset : {};
  // The desk's own pages (/, /ticket), where ?lang= is the language the student chose last:
  // the site's language link or the widget's switch (keepLang). The chat follows it once, at
  // the page's first answer; later switches are the student's own.
  const OWN_PAGE = ORIGIN === location.origin;
  let addressLang = OWN_PAGE ? new URLSearchParams(location.search).get("lang") : null;

  const K_CONV = "unipg-helpdesk:conversation";
  const K_TICKET = "unipg-helpdesk:ticket";
  const K_LANG = "unipg-helpdesk:lang";
  const K_DRAFT = "unipg-helpdesk:draft:";
  const MAX_FILE = 2 * 1024 * 1024;
  const FILE_TYPES = ["application/pdf", "image/png", "image/jpeg"];
  const ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg";

  // Storage can be missing or throw (private mode, blocked cookies): the widget then keeps
  // things in memory for the life of the page.
  const storage = (area) => ({
    get(k) {
      try {
        return window[area].getItem(k);
      } catch (e) {
        return null;
      }
    },
    set(k, v) {
      try {
        if (v == null) window[area].removeItem(k);
        else window[area].setItem(k, v);
      } catch (e) {
        /* private mode: memory only */
      }
    },
  });
  const local = storage("localStorage");
  const session = storage("sessionStorage");

  const pickLang = (...c) => c.map((l) => (l || "").slice(0, 2).toLowerCase()).find((l) => l in STRINGS) || "it";

  const S = {
    // the page's explicit language, else the student's last choice; once a conversation
    // answers, its language wins (what the bot says and the widget's labels stay one language)
    lang: pickLang(opt.lang, local.get(K_LANG), document.documentElement.lang),
    page: false, // inline in a page element, no launcher
    chatless: false, // the /ticket page: look-up and ticket only, no chat to go back to
    open: false,
    view: "chat", // chat | lookup | ticket
    socket: null,
    loading: false,
    connected: false,
    chatStarted: false,
    whyIds: 0, // ids given to the texts that say why a field is wrong (markInvalid)
    bound: false, // this socket's hello was answered: it speaks for S.conversationId
    helloDelay: 0,
    helloRetry: null,
    busy: false, // waiting for the bot's answer to our last action
    conversationId: session.get(K_CONV) || local.get(K_CONV),
    prompt: null,
    renderedIds: [],
    lastSent: null,
    followUp: null,
    carried: null, // the unsent reply of a closed ticket, for its follow-up's question (newTicket)
    ticket: readTicket(), // {number, token, active}
    ticketBody: null,
    msgCount: 0,
    replyFile: null,
    // a reply's file kept while the student finds the ticket again (accessExpired)
    waitingFile: null,
    typingSent: 0,
    // the closing mail links to /ticket#rating: once the ticket is open, go to its stars
    wantRating: location.hash === "#rating",
    // the chat log shows its newest line: a log that shrinks keeps it in view (buildChat)
    logAtEnd: true,
    rating: false, // a rating is on its way
    switchingLang: false, // the student's IT/EN switch awaits the chat's answer
    unconfirmed: null, // a reply whose answer the network lost: {number, body, file, after}
    // what the chat's file step got while the connection was down, sent once it is back:
    // {file} picked, not uploaded yet; {id} uploaded, not yet joined to the request
    held: null,
  };

  function readTicket() {
    try {
      const t = JSON.parse(session.get(K_TICKET));
      return t && t.number && t.token ? t : null;
    } catch (e) {
      return null;
    }
  }
  const saveTicket = () => session.set(K_TICKET, S.ticket ? JSON.stringify(S.ticket) : null);

  // What the student is writing outlives the page in this tab: a phone that discards a
  // background tab (the student went to the mail app for a code) reloads it on return, and a
  // reload or a new look-up must not throw away a long question. A draft belongs to one place
  // (`where`: the chat at its latest line, or a ticket) and is given back only there. Only the
  // free-text boxes: email, name and phone are quick to type again and stay out of storage.
  const drafts = {
    keep(slot, where, text) {
      session.set(K_DRAFT + slot, text.trim() ? JSON.stringify({ where, text }) : null);
    },
    get(slot, where) {
      try {
        const d = JSON.parse(session.get(K_DRAFT + slot));
        return d && d.where === where ? String(d.text) : "";
      } catch (e) {
        return "";
      }
    },
    drop: (slot) => session.set(K_DRAFT + slot, null),
  };
  // the chat's draft answers the step its latest line asked
  const chatPlace = () => S.conversationId + "#" + S.renderedIds[S.renderedIds.length - 1];

  // A chat in progress outlives the browser, to be finished later. One that has opened a ticket
  // (or found one by email and number) holds the student's email and the ticket's access, and
  // the new ticket's name and phone: on a library's or a family's computer the next person must
  // not find them, so it is kept for this tab only (the student comes back with email and
  // number, as the mails say).
  function keepConversation(id, ticketOpened) {
    local.set(K_CONV, id && !ticketOpened ? id : null);
    session.set(K_CONV, id && ticketOpened ? id : null);
  }
  const opensTicket = (entries) => (entries || []).some((e) => e && (e.kind === "ticket" || e.kind === "ticket_view"));

  function T(key, vars) {
    let s = STRINGS[S.lang][key];
    if (s == null) s = STRINGS.it[key];
    if (s == null) return "";
    return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] == null ? "" : String(vars[k]))) : s;
  }

  /* ----- DOM helpers: textContent and attributes only ----- */

  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const k in props || {}) {
      const v = props[k];
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids.flat(2)) if (c != null && c !== false) e.append(c); // strings become text nodes
    return e;
  }

  const ICONS = {
    chat: "M4 5h16v11H9l-5 4z",
    close: "M6 6l12 12M18 6L6 18",
    restart: "M4 12a8 8 0 1 0 2.5-5.8M4 4v5h5",
    send: "M4 12l16-8-6 16-3-6.5zM11 13.5L20 4",
    clip: "M20 11l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10 17a2 2 0 0 1-3-3l7.5-7.5",
    back: "M15 5l-7 7 7 7",
    copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  };
  function icon(name) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    const p = document.createElementNS(NS, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "uh-icon");
    p.setAttribute("d", ICONS[name]);
    svg.append(p);
    return svg;
  }

  // Elements whose text follows the language switch: [element, key, attribute or null].
  const bound = [];
  function tr(el, key, attr) {
    bound.push([el, key, attr]);
    if (attr) el.setAttribute(attr, T(key));
    else el.textContent = T(key);
    return el;
  }

  // aria-disabled rather than disabled: a focused button keeps its focus while we wait.
  function setEnabled(el, on) {
    el.setAttribute("aria-disabled", on ? "false" : "true");
  }
  const enabled = (el) => el.getAttribute("aria-disabled") !== "true";

  function safeUrl(u) {
    try {
      const x = new URL(u, ORIGIN);
      return /^(https?|mailto|tel):$/.test(x.protocol) ? x.href : null;
    } catch (e) {
      return null;
    }
  }
  function link(url, label, cls) {
    const href = safeUrl(url);
    if (!href) return h("span", { class: cls, text: label || url });
    return h(
      "a",
      { href, class: cls, target: "_blank", rel: "noopener noreferrer" },
      label || href,
      h("span", { class: "uh-sr", text: " " + T("newTab") })
    );
  }

  // An operator's "compili il modulo https://…": a phone cannot select an address the width of
  // the screen breaks over six lines, so it is a link; the sentence's closing stop is not.
  const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"]+/g;
  function linkified(text) {
    const parts = [];
    let at = 0;
    for (const m of text.matchAll(URL_IN_TEXT)) {
      const url = m[0].replace(/[.,;:!?)\]»"']+$/, "");
      parts.push(text.slice(at, m.index), link(url, url));
      at = m.index + url.length;
    }
    parts.push(text.slice(at));
    return parts;
  }

  /* ----- formatting: sizes and dates in the student's language, the attachment check ----- */

  const locale = () => (S.lang === "en" ? "en-GB" : "it-IT");
  function fmtSize(n) {
    const nf = new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 });
    return n >= 1048576 ? nf.format(n / 1048576) + " MB" : nf.format(Math.max(1, Math.round((n || 0) / 1024))) + " KB";
  }
  // A student abroad reads the thread on their own clock, and the office works on Perugia's: a
  // time of another zone says which ("20:00 GMT+8"), so that "your message of 20:00" and the
  // operator's "13:00" are not taken for one clock.
  const OFFICE_TZ = "Europe/Rome";
  const awayFromOffice = (() => {
    try {
      return new Intl.DateTimeFormat().resolvedOptions().timeZone !== OFFICE_TZ;
    } catch (e) {
      return false;
    }
  })();
  function fmtDate(at) {
    try {
      const d = new Date(at);
      const o = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
      if (d.getFullYear() !== new Date().getFullYear()) o.year = "numeric";
      if (awayFromOffice) o.timeZoneName = "short";
      return new Intl.DateTimeFormat(locale(), o).format(d);
    } catch (e) {
      return "";
    }
  }

  // "412", "#000412", " 000412 " -> "000412", as the server stores a ticket's number
  function normalNumber(raw) {
    const digits = String(raw || "").replace(/\D/g, "");
    return digits ? digits.padStart(6, "0") : "";
  }

  // A phone's photo of a receipt is often over 2 MB, and a phone has no easy way to make it
  // smaller: a JPEG or PNG too large goes as a smaller JPEG, at most SHRINK_SIDES[0] px a
  // side (a document stays readable), smaller still if need be. Re-encoding also leaves the
  // photo's EXIF data (where it was taken) behind. What the browser cannot decode (HEIC) or
  // shrink enough stays as it was, and checkFile says it is too large.
  const SHRINK_SIDES = [2048, 1600, 1200];
  async function fitFile(f) {
    const image = /^image\/(jpeg|png)$/.test(f.type) || (!f.type && /\.(png|jpe?g)$/i.test(f.name));
    if (f.size <= MAX_FILE || !image || !window.createImageBitmap) return f;
    try {
      const bitmap = await createImageBitmap(f);
      const canvas = h("canvas");
      const ctx = canvas.getContext("2d");
      for (const side of SHRINK_SIDES) {
        const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        ctx.fillStyle = "#fff"; // a PNG's transparent parts would turn black in a JPEG
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
        if (blob && blob.size && blob.size <= MAX_FILE) {
          bitmap.close();
          return new File([blob], f.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
        }
      }
      bitmap.close();
    } catch (e) {
      /* not an image this browser can read: left as it is */
    }
    return f;
  }

  function checkFile(f) {
    if (f.size > MAX_FILE) return "fileTooBig";
    if (!f.size) return "fileEmpty";
    const okType = FILE_TYPES.indexOf(f.type) >= 0 || (!f.type && /\.(pdf|png|jpe?g)$/i.test(f.name));
    return okType ? null : "fileWrongType";
  }

  /* ----- HTTP: XHR, for upload progress and blobs; errors as {status, message} ----- */

  function http(method, path, o) {
    o = o || {};
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      const parse = (t) => {
        try {
          return JSON.parse(t);
        } catch (e) {
          return null;
        }
      };
      const fail = (data) =>
        reject({
          status: x.status,
          message: (data && data.error && data.error.message) || T(x.status ? "genericError" : "networkError"),
        });
      x.open(method, ORIGIN + path);
      // the server gives a body 60 s, and more for a large one on a slow link (middleware.py)
      x.timeout = 60000 + (o.size || 0) / 8;
      x.setRequestHeader("Accept-Language", S.lang); // the API answers errors in this language
      if (o.token) x.setRequestHeader("Authorization", "Bearer " + o.token);
      if (o.blob) x.responseType = "blob";
      let body = o.form || null;
      if (o.json) {
        x.setRequestHeader("Content-Type", "application/json");
        body = JSON.stringify(o.json);
      }
      if (o.progress)
        x.upload.onprogress = (e) => e.lengthComputable && o.progress(Math.round((100 * e.loaded) / e.total));
      x.onload = () => {
        if (x.status >= 200 && x.status < 300) resolve(o.blob ? x.response : parse(x.responseText));
        else if (o.blob && x.response && x.response.text) x.response.text().then((t) => fail(parse(t)), () => fail(null));
        else fail(parse(o.blob ? "" : x.responseText));
      };
      x.onerror = x.ontimeout = () => reject({ status: 0, message: T("networkError") });
      x.send(body);
    });
  }

  /* ----- socket: loaded and opened only when the panel is first used ----- */

  // A page that enforces Trusted Types takes a script's address only from a policy (README.md:
  // a page that lists its policies names ours). Made once: a second one of the name throws.
  const IO_SRC = STATIC + "vendor/socket.io.min.js";
  let ioPolicy = null;
  function ioSrc() {
    try {
      ioPolicy = ioPolicy || (window.trustedTypes && trustedTypes.createPolicy("unipg-helpdesk", { createScriptURL: () => IO_SRC }));
    } catch (e) {
      /* the page's list leaves us out: the plain address, which such a page refuses */
    }
    return ioPolicy ? ioPolicy.createScriptURL(IO_SRC) : IO_SRC;
  }

  function loadIo() {
    if (typeof window.io === "function" && window.io.protocol >= 5) return Promise.resolve(window.io);
    return new Promise((resolve, reject) => {
      // Our copy must not replace the page's own `io` (it may be an older major version),
      // and a page with an AMD loader would swallow the UMD bundle: hide it meanwhile.
      const had = "io" in window;
      const prev = window.io;
      const amd = typeof window.define === "function" && window.define.amd;
      if (amd) window.define.amd = undefined;
      const done = () => {
        const io = window.io;
        if (had) window.io = prev;
        else delete window.io;
        if (amd) window.define.amd = amd;
        return io;
      };
      const s = document.createElement("script");
      s.src = ioSrc();
      s.async = true;
      s.onload = () => {
        const io = done();
        if (typeof io === "function") resolve(io);
        else reject(new Error("no io"));
      };
      s.onerror = () => reject(done());
      document.head.appendChild(s);
    });
  }

  function connect() {
    if (S.socket || S.loading) return;
    S.loading = true;
    loadIo().then(
      (io) => {
        const socket = (S.socket = io(ORIGIN + "/chat", { path: "/socket.io", reconnectionDelayMax: 10000 }));
        socket.on("connect", onConnect);
        socket.on("disconnect", (reason) => {
          setOnline(false);
          // the server hung up on us on purpose: Socket.IO does not retry by itself then
          if (reason === "io server disconnect") setTimeout(() => socket.connect(), 3000);
        });
        socket.on("connect_error", () => setOnline(false));
        socket.on("state", onState);
        socket.on("bot", onBot);
        socket.on("typing", (p) => showTyping(!!(p && p.on)));
        socket.on("error", onServerError);
        socket.on("ticket", onTicket);
        socket.on("operator_typing", onOperatorTyping);
        socket.on("wait", onWait);
        // an operator's reply pushed while the server could not pass it on (docs/protocol.md),
        // or the ticket's email corrected, which let go of the pages that followed it: read it
        // and follow it again. Every page on the process hears it at once: spread over 2 s
        socket.on("resync", () => setTimeout(() => {
          if (S.view !== "ticket" || !S.ticket) return;
          watchTicket();
          refreshTicket();
        }, Math.random() * 2000));
      },
      () => {
        S.loading = false;
        setOnline(false);
        setTimeout(connect, 5000);
      }
    );
  }

  // The phone has a network again, or the student is back in the tab: try at once, rather
  // than at the end of Socket.IO's back-off (up to 10 s of "Connessione persa" over a working
  // connection). Dropping the socket's pending retry and connecting anew is its own way to.
  function reconnectNow() {
    const s = S.socket;
    if (s && !s.connected && !document.hidden && navigator.onLine !== false) s.disconnect().connect();
  }
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", reconnectNow);

  const emit = (event, payload) => S.socket && S.connected && (S.socket.emit(event, payload), true);

  function onConnect() {
    setOnline(true);
    S.bound = false;
    if (S.chatStarted) sendHello();
    if (S.view === "ticket" && S.ticket) {
      watchTicket();
      refreshTicket(); // anything that happened while we were away
    }
    if (S.waitCard && S.waitCard.waiting) emit("watch_wait", { token: S.waitCard.token });
  }

  function sendHello() {
    clearTimeout(S.helloRetry);
    setBusy(true);
    if (!S.renderedIds.length) showTyping(true); // an empty panel must not look dead

    const payload = { conversation_id: S.conversationId || null, lang: S.lang };
    if (S.followUp) payload.follow_up = S.followUp; // a new conversation that follows a closed ticket
    emit("hello", payload);
  }

  function startChat() {
    if (S.chatStarted) return;
    S.chatStarted = true;
    if (S.connected) sendHello();
    else {
      setBusy(true);
      connect();
    }
  }

  /* ----- build: the panel, its chat, look-up and ticket views, the language switch ----- */

  const ui = {};

  function build() {
    const left = opt.position === "left" ? " uh-left" : "";
    const wrap = (ui.wrap = h("div", { class: "uh-root" + (S.page ? " uh-page" : left), lang: S.lang, hidden: true }));
    const lift = Math.min(Math.max(parseInt(opt.offset, 10) || 0, 0), 400);
    if (lift) wrap.style.setProperty("--uh-lift", lift + "px");
    wrap.addEventListener("keydown", onKeydown);
    document.addEventListener("keydown", onPageKeydown);
    // The page's own shortcuts ("/" to its search box, arrows to a slideshow) see our text
    // boxes as the host element, no text box to them, and took the student's typing ("entro
    // il 15/09"): keys typed in our boxes stay with us.
    const keepKeys = (e) => e.target.matches("input, textarea") && e.stopPropagation();
    for (const type of ["keydown", "keypress", "keyup"]) wrap.addEventListener(type, keepKeys);

    if (!S.page) {
      ui.launcher = h(
        "button",
        { type: "button", class: "uh-launcher", "aria-expanded": "false", "aria-controls": "uh-panel", onclick: toggle },
        icon("chat"),
        icon("close"),
        tr(h("span", { class: "uh-launcher-text" }), "launcher")
      );
      wrap.append(ui.launcher);
    }

    // header
    ui.title = tr(h("h2", { id: "uh-title", class: "uh-title", tabindex: "-1" }), "title");
    ui.langBtn = h("button", { type: "button", class: "uh-hbtn uh-lang", onclick: switchLang });
    ui.restartBtn = h("button", { type: "button", class: "uh-hbtn", onclick: askRestart }, icon("restart"));
    tr(ui.restartBtn, "restart", "aria-label");
    tr(ui.restartBtn, "restart", "title");
    const header = h(
      "div",
      { class: "uh-header" },
      h("div", { class: "uh-titles" }, ui.title, tr(h("p", { class: "uh-subtitle" }), "subtitle")),
      ui.langBtn,
      ui.restartBtn
    );
    if (!S.page) {
      ui.closeBtn = h("button", { type: "button", class: "uh-hbtn", onclick: close }, icon("close"));
      tr(ui.closeBtn, "close", "aria-label");
      tr(ui.closeBtn, "close", "title");
      header.append(ui.closeBtn);
    }

    ui.offline = tr(h("div", { class: "uh-offline", role: "status", hidden: true }), "offline");
    ui.srStatus = h("div", { class: "uh-sr", role: "status" });

    ui.confirm = h(
      "div",
      { class: "uh-confirm", hidden: true },
      tr(h("p", { id: "uh-confirm-text" }), "restartAsk"),
      h(
        "div",
        { class: "uh-row" },
        tr(h("button", { type: "button", class: "uh-btn uh-primary", onclick: doRestart, "aria-describedby": "uh-confirm-text" }), "restartYes"),
        tr(h("button", { type: "button", class: "uh-btn", onclick: cancelRestart }), "restartNo")
      )
    );

    ui.panel = h(
      "section",
      {
        id: "uh-panel",
        class: "uh-panel",
        role: S.page ? "region" : "dialog",
        "aria-labelledby": "uh-title",
        hidden: !S.page,
      },
      header,
      ui.offline,
      ui.confirm,
      buildChat(),
      buildLookup(),
      buildTicket(),
      ui.srStatus
    );
    wrap.append(ui.panel);
    applyLang();
    return wrap;
  }

  function buildChat() {
    ui.log = tr(h("div", { class: "uh-log", role: "log", "aria-live": "polite", tabindex: "0" }), "log", "aria-label");
    // A log that shrinks (a phone's keyboard opening, quick replies taking room) keeps its newest
    // line in view while the student was reading the end, rather than the lines above it.
    // A scroll that comes with a change of height (the keyboard opening) is the resize's to
    // judge: read first, it would find the reader no longer at the end, and the newest line
    // would be left below the keyboard. Our own scrolls say where they leave the reader
    // (logTo), whatever the frame's events.
    let height = 0;
    ui.log.addEventListener("scroll", () => {
      if (ui.log.clientHeight === height) S.logAtEnd = logAtEnd();
    });
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        height = ui.log.clientHeight;
        if (S.logAtEnd) ui.log.scrollTop = ui.log.scrollHeight;
      }).observe(ui.log);
    }
    ui.typing = h(
      "div",
      { class: "uh-typing", hidden: true },
      h("span", { class: "uh-dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      tr(h("span"), "botTyping")
    );
    ui.options = tr(h("div", { class: "uh-options", role: "group", hidden: true }), "options", "aria-label");
    ui.alert = h("p", { class: "uh-alert", role: "alert" });

    // Enter on a touch keyboard starts a new line (below): its key must not say "Send"
    ui.text = h("textarea", { id: "uh-text", class: "uh-field", rows: "2", maxlength: "4000", enterkeyhint: "enter", dir: "auto" });
    ui.text.addEventListener("input", () => {
      grow(ui.text);
      sayIfCut(ui.text, ui.alert);
      drafts.keep("chat", chatPlace(), ui.text.value);
    });
    ui.text.addEventListener("keydown", (e) => {
      // Enter sends; Shift+Enter (and Enter on touch keyboards) starts a new line
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !matchMedia("(pointer: coarse)").matches) {
        e.preventDefault();
        submitText();
      }
    });
    ui.input = h("input", { id: "uh-input", class: "uh-field", type: "text", maxlength: "4000", enterkeyhint: "send" });
    ui.fieldLabel = tr(h("label", { class: "uh-sr", for: "uh-text" }), "inputLabel");
    ui.file = h("input", { type: "file", accept: ACCEPT, class: "uh-sr", tabindex: "-1", "aria-hidden": "true" });
    ui.file.addEventListener("change", () => {
      const f = ui.file.files && ui.file.files[0];
      ui.file.value = "";
      if (f) uploadChatFile(f);
    });
    ui.fileBtn = h(
      "button",
      { type: "button", class: "uh-btn uh-primary uh-filebtn", onclick: () => enabled(ui.fileBtn) && ui.file.click() },
      icon("clip"),
      tr(h("span"), "chooseFile")
    );
    ui.fileHint = tr(h("p", { class: "uh-hint" }), "fileHint");
    ui.send = h("button", { type: "submit", class: "uh-send" }, icon("send"));
    tr(ui.send, "send", "aria-label");
    tr(ui.send, "send", "title");
    ui.form = h(
      "form",
      { class: "uh-inputrow", novalidate: true, hidden: true },
      ui.fieldLabel,
      ui.text,
      ui.input,
      h("div", { class: "uh-filebox" }, ui.fileBtn, ui.fileHint),
      ui.file,
      ui.send
    );
    ui.form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitText();
    });
    ui.privacy = privacyNotice();
    return (ui.chat = h("div", { class: "uh-view uh-chat" }, ui.log, ui.typing, ui.alert, ui.options, ui.privacy, ui.form));
  }

  function buildLookup() {
    ui.lkEmail = h("input", {
      id: "uh-lk-email",
      class: "uh-field",
      type: "email",
      autocomplete: "email",
      autocapitalize: "off",
      spellcheck: "false",
      required: true,
    });
    const fromQuery = S.number || new URLSearchParams(location.search).get("number");
    ui.lkNumber = tr(
      h("input", {
        id: "uh-lk-number",
        class: "uh-field uh-mono",
        type: "text",
        inputmode: "numeric",
        autocomplete: "off",
        maxlength: "12",
        required: true,
      }),
      "numberHint",
      "placeholder"
    );
    if (S.page && fromQuery) ui.lkNumber.value = String(fromQuery).slice(0, 12);
    ui.lkAlert = h("p", { class: "uh-alert", role: "alert" });
    ui.lkSubmit = tr(h("button", { type: "submit", class: "uh-btn uh-primary uh-wide" }), "lookup");
    ui.lkBack = h("button", { type: "button", class: "uh-link uh-back", onclick: () => showView("chat", true) }, icon("back"));
    ui.lkBack.append(tr(h("span"), "backToChat"));
    ui.lkTitle = tr(h("h3", { class: "uh-h uh-lk-head", tabindex: "-1" }), "lookupTitle");
    const form = h(
      "form",
      { class: "uh-form", novalidate: true },
      ui.lkTitle,
      tr(h("p", { class: "uh-muted uh-lk-head" }), "lookupIntro"),
      privacyNotice(),
      tr(h("label", { for: "uh-lk-email" }), "email"),
      ui.lkEmail,
      tr(h("label", { for: "uh-lk-number" }), "number"),
      ui.lkNumber,
      ui.lkAlert,
      ui.lkSubmit
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      lookup();
    });
    return (ui.lookup = h("div", { class: "uh-view uh-scroll", hidden: true }, ui.lkBack, form));
  }

  function buildTicket() {
    ui.tkBack = h("button", { type: "button", class: "uh-link uh-back", onclick: leaveTicket }, icon("back"), h("span"));
    ui.tkHeading = h("h3", { class: "uh-h uh-tk-heading", tabindex: "-1" });
    ui.tkBadge = h("span", { class: "uh-badge" });
    ui.tkHelp = h("p", { class: "uh-muted" });
    ui.tkOperator = h("p", { class: "uh-operator" });
    ui.tkWait = h("p", { class: "uh-wait" });
    ui.tkCard = h(
      "div",
      { class: "uh-card uh-tk-card" },
      ui.tkHeading,
      h("p", { class: "uh-tk-status", role: "status" }, ui.tkBadge),
      ui.tkHelp,
      ui.tkWait,
      ui.tkOperator
    );
    ui.thread = h("div", { class: "uh-thread", role: "log", "aria-live": "polite" });
    tr(ui.thread, "messages", "aria-label");
    ui.opTyping = h(
      "div",
      { class: "uh-typing", hidden: true },
      h("span", { class: "uh-dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      tr(h("span"), "operatorTyping")
    );
    ui.tkAlert = h("p", { class: "uh-alert", role: "alert" });
    ui.tkStatus = h("p", { class: "uh-ok", role: "status" });

    ui.reply = h("textarea", { id: "uh-reply", class: "uh-field", rows: "3", maxlength: "4000", dir: "auto" });
    ui.reply.addEventListener("input", () => {
      if (S.ticket) drafts.keep("reply", S.ticket.number, ui.reply.value);
      ui.tkStatus.textContent = "";
      sayIfCut(ui.reply, ui.tkAlert);
      studentTyping();
    });
    ui.rFile = h("input", { type: "file", accept: ACCEPT, class: "uh-sr", tabindex: "-1", "aria-hidden": "true" });
    ui.rFile.addEventListener("change", async () => {
      const picked = ui.rFile.files && ui.rFile.files[0];
      ui.rFile.value = "";
      if (!picked) return;
      // not sent without the photo while it is made smaller (nor given back mid-send)
      const idle = enabled(ui.rSend);
      setEnabled(ui.rSend, false);
      const f = await fitFile(picked);
      if (idle) setEnabled(ui.rSend, true);
      const err = checkFile(f);
      ui.tkAlert.textContent = err ? T(err) : "";
      if (err) return;
      setReplyFile(f);
      // the focus is back on "Allega un file", which says nothing of the file now attached
      announce(T("fileChosen", { name: f.name }));
    });
    ui.rChip = h("div", { class: "uh-chip", hidden: true });
    ui.rAttach = h("button", { type: "button", class: "uh-btn", onclick: () => ui.rFile.click() }, icon("clip"));
    ui.rAttach.append(tr(h("span"), "attach"));
    ui.rSend = tr(h("button", { type: "submit", class: "uh-btn uh-primary" }), "sendReply");
    ui.replyForm = h(
      "form",
      { class: "uh-form uh-replyform", novalidate: true },
      tr(h("label", { for: "uh-reply" }), "replyLabel"),
      ui.reply,
      ui.rChip,
      h("div", { class: "uh-row" }, ui.rAttach, ui.rFile, ui.rSend),
      tr(h("p", { class: "uh-hint" }), "fileHint")
    );
    ui.replyForm.addEventListener("submit", (e) => {
      e.preventDefault();
      sendReply();
    });
    ui.exportBtn = tr(h("button", { type: "button", class: "uh-link", onclick: exportData }), "exportData");
    // said when it appears: a ticket closed while the student reads it (or writes in it)
    ui.closedText = h("p", { "aria-live": "polite" });
    ui.followBtn = h("button", { type: "button", class: "uh-btn uh-primary", hidden: true, onclick: followDuplicate });
    ui.newTicketBtn = tr(h("button", { type: "button", class: "uh-btn uh-primary", onclick: () => newTicket() }), "newTicket");
    ui.closedBox = h("div", { class: "uh-closed", hidden: true }, ui.closedText, ui.followBtn, ui.newTicketBtn);
    return (ui.ticket = h(
      "div",
      { class: "uh-view uh-scroll", hidden: true },
      ui.tkBack,
      ui.tkCard,
      tr(h("h4", { class: "uh-h4" }), "messages"),
      ui.thread,
      ui.opTyping,
      ui.tkAlert,
      ui.tkStatus,
      buildRating(),
      ui.closedBox,
      ui.replyForm,
      h("div", { class: "uh-privacy uh-row" }, ui.exportBtn, privacyLink())
    ));
  }

  // The browser cuts a paste at the field's maxlength without a word: say so, since the end of
  // a long message is often its question.
  function sayIfCut(field, alert) {
    const max = Number(field.getAttribute("maxlength"));
    if (field.value.length >= max) alert.textContent = T("cut", { max });
  }

  function grow(ta) {
    ta.style.height = "";
    if (ta.value) ta.style.height = Math.min(ta.scrollHeight + 4, 140) + "px";
  }

  function applyLang() {
    ui.wrap.lang = S.lang;
    for (const [el, key, attr] of bound) {
      if (attr) el.setAttribute(attr, T(key));
      else el.textContent = T(key);
    }
    ui.langBtn.textContent = T("langSwitch");
    ui.langBtn.setAttribute("aria-label", T("langSwitchLabel"));
    ui.langBtn.setAttribute("lang", T("langSwitchLang"));
    ui.tkBack.lastChild.textContent = T(S.chatless ? "otherTicket" : "backToChat");
    ui.lkBack.hidden = S.chatless;
    for (const a of ui.wrap.querySelectorAll(".uh-privacy a")) a.href = privacyUrl();
    applyPrompt();
  }

  function setLang(lang) {
    if (lang === S.lang || !(lang in STRINGS)) return;
    S.lang = lang;
    applyLang();
    if (S.ticketBody) renderTicket(S.ticketBody, true);
  }

  function switchLang() {
    setLang(S.lang === "it" ? "en" : "it");
    keepLang();
    switchChat();
    if (S.view === "ticket" && S.ticket) watchTicket();
  }

  // The dialogue switches language at any step on this option, and answers in it.
  function switchChat() {
    if (S.chatStarted && S.conversationId && ready()) {
      emit("choose", { conversation_id: S.conversationId, option: "lang:" + S.lang });
      S.switchingLang = true;
      setBusy(true);
      showTyping(true);
    }
  }

  // The student's choice outlives the page. On the desk's own pages the address says it too
  // (?lang=): the server renders the page around the widget in it, and a reload keeps it.
  function keepLang() {
    local.set(K_LANG, S.lang);
    if (!OWN_PAGE) return;
    const url = new URL(location.href);
    url.searchParams.set("lang", S.lang);
    history.replaceState(history.state, "", url.href);
  }

  /* ----- panel: open, close, keyboard, which view shows ----- */

  function open() {
    if (S.page) return;
    S.open = true;
    ui.panel.hidden = false;
    ui.wrap.classList.add("uh-is-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.panel.setAttribute("aria-modal", fullScreen() ? "true" : "false");
    activate();
    logTo(ui.log.scrollHeight);
    if (!S.prompt) S.wantFocus = true; // the first prompt is still on its way: focus it when it comes
    focusFirst();
  }

  function close(focusLauncher = true) {
    if (S.page || !S.open) return;
    S.open = false;
    ui.panel.hidden = true;
    ui.wrap.classList.remove("uh-is-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    if (focusLauncher) ui.launcher.focus();
  }

  // Beside the page (not full screen) the open panel can cover what has the focus out on
  // the page: Escape from there closes it too, leaving the focus where it is. (Inside the
  // panel, onKeydown handles it and the key goes no further.)
  function onPageKeydown(e) {
    if (e.key === "Escape" && S.open && !e.defaultPrevented && !fullScreen()) close(false);
  }

  const toggle = () => (S.open ? close() : open());

  // On a narrow or short screen the panel covers the page: it is modal there, and Tab stays
  // inside it.
  const FULL_SCREEN = "(max-width: 480px), (max-height: 500px)"; // as widget.css
  const fullScreen = () => !S.page && S.open && matchMedia(FULL_SCREEN).matches;

  function trapTab(e) {
    const all = Array.from(ui.panel.querySelectorAll("button, a[href], input, textarea, [tabindex='0']")).filter(
      (el) => visible(el) && el.tabIndex >= 0
    );
    if (!all.length) return;
    const active = ui.wrap.getRootNode().activeElement;
    const first = all[0];
    const last = all[all.length - 1];
    if (e.shiftKey && (active === first || !ui.panel.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  function onKeydown(e) {
    if (e.key === "Tab" && fullScreen()) trapTab(e);
    if (e.key !== "Escape") return;
    if (!ui.confirm.hidden) {
      e.stopPropagation();
      cancelRestart();
    } else if (S.open) {
      e.stopPropagation();
      close();
    }
  }

  function visible(el) {
    return el && !el.hidden && el.getClientRects().length > 0;
  }

  function focusFirst() {
    let target;
    if (S.view === "chat") {
      const first = ui.options.querySelector("button");
      const fields = [ui.text, ui.input, ui.fileBtn];
      // on a touch screen a focused text box opens the keyboard over what the bot just said:
      // there, a quick reply comes first when the step offers one
      const order = matchMedia("(pointer: coarse)").matches ? [first].concat(fields) : fields.concat(first);
      target = order.find(visible);
    } else if (S.view === "lookup") {
      target = ui.lkEmail.value ? ui.lkNumber : ui.lkEmail;
    } else {
      target = ui.tkHeading;
    }
    (target || ui.title).focus();
  }

  // Which view the panel shows: the chat, the look-up form, or a ticket.
  function showView(v, moveFocus) {
    // Leaving the ticket: the office must not count on the student seeing replies live
    // any more, so the next one goes by mail too.
    if (S.view === "ticket" && v !== "ticket" && S.ticket) emit("unwatch_ticket", { token: S.ticket.token });
    S.view = v;
    ui.chat.hidden = v !== "chat";
    ui.lookup.hidden = v !== "lookup";
    ui.ticket.hidden = v !== "ticket";
    ui.restartBtn.hidden = v !== "chat";
    ui.confirm.hidden = true;
    // inline on a page, the look-up and the ticket grow with their content and the page scrolls
    ui.panel.classList.toggle("uh-fit", S.page && v !== "chat");
    if (S.ticket) {
      S.ticket.active = v === "ticket";
      saveTicket();
    }
    if (v === "chat" && (S.open || S.page)) startChat();
    if (moveFocus) focusFirst();
  }

  // The panel is being shown: make sure the current view has what it needs.
  function activate() {
    connect();
    if (S.view === "chat") startChat();
    else if (S.view === "ticket" && S.ticket && !S.ticketBody) openTicket(S.ticket, false);
  }

  /* ----- chat: entries, prompt, actions, uploads, restart ----- */

  function onState(p) {
    if (!p) return;
    S.bound = true;
    S.helloDelay = 0;
    if (p.conversation_id) {
      S.conversationId = p.conversation_id;
      keepConversation(p.conversation_id, opensTicket(p.transcript));
    }
    if (p.lang) setLang(p.lang);
    setBusy(false);
    showTyping(false);
    renderTranscript(p.transcript || []);
    renderPrompt(p.prompt, true);
    if (S.prompt.input === "text" && !ui.text.value) {
      ui.text.value = drafts.get("chat", chatPlace());
      grow(ui.text);
    }
    logTo(ui.log.scrollHeight);
    S.followUp = null;
    // A chat the student had spoken in keeps its language on a page in another, unless the
    // student chose the page's language since: the site's own language link.
    const asked = addressLang;
    addressLang = null;
    if (asked in STRINGS && p.lang && p.lang !== asked && ready()) {
      setLang(asked);
      switchChat();
    }
    const held = S.held;
    S.held = null;
    if (held && S.prompt.input === "file") {
      if (held.id) attach(held.id);
      else uploadChatFile(held.file);
    }
  }

  function onBot(p) {
    if (!p) return;
    // Not a step the student took here (the language switch, another tab's answer) and the
    // same box asked again: what they are writing in it stays.
    const keep = (!S.busy || S.switchingLang) && !!p.prompt && !!S.prompt && p.prompt.input === S.prompt.input;
    S.switchingLang = false;
    // a `lang:` choice (ours, typed, or another tab's) may have switched the conversation:
    // the widget's own labels follow, as the bot's words do, and a reload keeps it as it keeps
    // the switch's
    if (p.lang && p.lang !== S.lang && p.lang in STRINGS) {
      setLang(p.lang);
      keepLang();
    }
    setBusy(false);
    showTyping(false);
    if (opensTicket(p.entries)) keepConversation(S.conversationId, true);
    const first = appendEntries(p.entries || [], true);
    // a new step starts with empty fields (a refused value is given back by renderPrompt);
    // `state` does not do this, so a reconnect never wipes what the student was typing
    if (!keep) {
      ui.text.value = ui.input.value = "";
      drafts.drop("chat");
    } else drafts.keep("chat", chatPlace(), ui.text.value); // the step's latest line moved
    renderPrompt(p.prompt);
    scrollTo(first); // after the prompt: its options may have taken room from the log
  }

  function onServerError(p) {
    S.switchingLang = false;
    setBusy(false);
    showTyping(false);
    const msg = (p && p.message) || T("genericError");
    // The hello itself failed (the database out of reach as we connected, too many new chats
    // from this address): this socket speaks for no chat, so say hello again, more slowly
    // each time, until it answers.
    if (S.chatStarted && !S.bound) {
      S.helloDelay = Math.min((S.helloDelay || 1000) * 2, 30000);
      S.helloRetry = setTimeout(() => S.connected && !S.bound && sendHello(), S.helloDelay);
    }
    if (S.view === "ticket") {
      ui.tkAlert.textContent = msg;
      // Following the ticket was refused (the database out of reach as we connected): the
      // operators would see the student away and the replies would not show here. Ask again,
      // more slowly each time, until it answers.
      if (p && p.code === "unavailable" && S.ticket) {
        S.watchDelay = Math.min((S.watchDelay || 1000) * 2, 30000);
        clearTimeout(S.watchRetry);
        S.watchRetry = setTimeout(() => {
          if (S.connected && S.view === "ticket" && S.ticket) {
            watchTicket();
            refreshTicket();
          }
        }, S.watchDelay);
      }
      return;
    }
    // the server refused what we sent: give the text back so nothing typed is lost
    removePending();
    if (S.lastSent && S.lastSent.text) {
      const f = activeField();
      if (f && !f.value) f.value = S.lastSent.text;
    }
    ui.alert.textContent = msg;
    applyPrompt();
  }

  const entryId = (e, i) => (e.id != null ? String(e.id) : "#" + i);

  function renderTranscript(entries) {
    const ids = entries.map(entryId);
    const have = S.renderedIds;
    removePending();
    if (have.length && have.length <= ids.length && have.every((id, i) => id === ids[i])) {
      appendEntries(entries.slice(have.length), false); // a resume: only what is new
    } else {
      // a fresh start: rebuild quietly rather than read the whole transcript out again
      quietly(ui.log, () => {
        ui.log.textContent = "";
        S.renderedIds = [];
        appendEntries(entries, false);
      });
      logTo(ui.log.scrollHeight);
    }
  }

  // A live region rebuilt whole (a reload, a language switch) must not be read out again from
  // the top: aria-busy alone is set and cleared in the same task, which the browser never
  // sees, so the region stops being live until the rebuild has been laid out.
  function quietly(region, rebuild) {
    region.setAttribute("aria-live", "off");
    region.setAttribute("aria-busy", "true");
    rebuild();
    setTimeout(() => {
      region.setAttribute("aria-live", "polite");
      region.removeAttribute("aria-busy");
    }, 250);
  }

  function appendEntries(entries, live) {
    if (!entries.length) return null;
    // our optimistic bubble is replaced by the server's own record of what the student did
    if (entries.some((e) => e.from === "student")) removePending();
    else
      ui.log.querySelectorAll(".uh-pending").forEach((n) => {
        n.classList.remove("uh-pending");
        n.removeAttribute("aria-hidden");
      });
    // where to scroll: the start of the answer, not the student's own words echoed before it
    // (a long request would push the whole answer below the fold)
    let first = null;
    for (const e of entries) {
      const node = renderEntry(e);
      ui.log.append(node);
      S.renderedIds.push(entryId(e, S.renderedIds.length));
      if (!first || (first.classList.contains("uh-student") && e.from !== "student")) first = node;
      if (live && e.kind === "ticket_view" && e.data && e.data.token) openTicket(e.data, true);
    }
    scrollTo(first);
    return first;
  }

  // Show the start of a long answer rather than its end; short ones simply scroll to the bottom.
  function logAtEnd() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 24;
  }

  function logTo(top) {
    ui.log.scrollTop = top;
    S.logAtEnd = logAtEnd();
  }

  function scrollTo(node) {
    if (node) logTo(node.offsetTop - 8);
  }

  function bubble(text, cls) {
    // dir=auto: a student writing Arabic or Persian reads it right to left
    return h("p", { class: "uh-bubble" + (cls ? " " + cls : ""), dir: "auto", text });
  }

  function renderEntry(e) {
    const d = e.data || {};
    const mine = e.from === "student";
    const box = h("div", { class: "uh-entry uh-" + (mine ? "student" : "bot") + " uh-k-" + (e.kind || "text") });
    if (e.lang) box.lang = e.lang; // said before a language switch: read in its own language
    if (mine) box.append(h("span", { class: "uh-sr", text: T("you") + " " }));
    switch (e.kind) {
      case "faq": {
        if (e.text && e.text !== d.question) box.append(bubble(e.text));
        const links = (d.links || []).filter((l) => l && l.url);
        // the middle band: a FAQ that may help, so it is shown as a guess, never as the answer
        const maybe = d.band === "middle";
        box.append(
          h(
            "article",
            { class: "uh-card uh-faq" + (maybe ? " uh-faq-maybe" : "") },
            maybe ? h("p", { class: "uh-faq-tag", text: T("faqMaybe") }) : null,
            h("h3", { class: "uh-faq-q", text: d.question || "" }),
            h("p", { class: "uh-faq-a", text: d.answer || "" }),
            links.length ? h("ul", { class: "uh-links" }, links.map((l) => h("li", null, link(l.url, l.label)))) : null
          )
        );
        break;
      }
      case "summary":
        if (e.text) box.append(bubble(e.text));
        box.append(
          h(
            "dl",
            { class: "uh-card uh-summary" },
            (d.fields || []).map((f) => h("div", null, h("dt", { text: f.label || f.key }), h("dd", { text: f.value == null ? "" : String(f.value) })))
          )
        );
        break;
      case "ticket":
        box.append(ticketCard(e.text, d));
        break;
      case "attachment":
        box.append(h("p", { class: "uh-bubble uh-att" }, icon("clip"), h("span", { text: d.filename || "" }), d.size ? h("span", { class: "uh-size", text: " · " + fmtSize(d.size) }) : null));
        break;
      case "ticket_view":
        if (e.text) box.append(bubble(e.text));
        if (d.token && d.number)
          box.append(h("button", { type: "button", class: "uh-btn", onclick: () => openTicket(d, true) }, T("openTicket") + " " + d.number));
        break;
      default:
        box.append(bubble(e.text || ""));
    }
    return box;
  }

  function ticketCard(text, d) {
    const wait = h("p", { class: "uh-wait" });
    if (d.token) followWait(d, wait);
    const num = h("p", { class: "uh-tk-num", text: d.number || "" });
    const copyBtn = h("button", { type: "button", class: "uh-btn", "aria-label": T("copyLabel") }, icon("copy"), h("span", { text: T("copy") }));
    copyBtn.addEventListener("click", () => copy(d.number || "", copyBtn, num));
    return h(
      "div",
      { class: "uh-card uh-tk-entry" },
      text ? h("p", { class: "uh-tk-text", text }) : null,
      h("p", { class: "uh-tk-label", text: T("ticketNumber") }),
      num,
      wait,
      h(
        "div",
        { class: "uh-row" },
        copyBtn,
        d.token ? h("button", { type: "button", class: "uh-btn", onclick: () => openTicket(d, true) }, T("openTicket")) : null,
        d.status_url ? link(d.status_url, T("statusLink"), "uh-btn uh-btnlink") : null
      )
    );
  }

  async function copy(text, btn, numEl) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) {
      // older browsers, or a page that is not served over https
      const ta = h("textarea", { class: "uh-sr", readonly: true });
      ta.value = text;
      ui.wrap.append(ta);
      ta.select();
      try {
        ok = document.execCommand("copy");
      } catch (e2) {
        ok = false;
      }
      ta.remove();
      btn.focus();
    }
    if (ok) {
      btn.lastChild.textContent = T("copied");
      announce(T("copied"));
      setTimeout(() => (btn.lastChild.textContent = T("copy")), 2000);
    } else {
      window.getSelection().selectAllChildren(numEl);
      announce(T("copyManual"));
    }
  }

  function announce(text) {
    ui.srStatus.textContent = "";
    setTimeout(() => (ui.srStatus.textContent = text), 50);
  }

  // What the student did, shown at once; the server's own entry replaces it when it answers.
  function addPending(text, fileName) {
    // hidden from screen readers: the live log announces the server's record of it, which
    // replaces this bubble, and the student's words would be read out twice
    const node = h(
      "div",
      { class: "uh-entry uh-student uh-pending", "aria-hidden": "true" },
      h("span", { class: "uh-sr", text: T("you") + " " })
    );
    if (fileName) {
      node.append(h("p", { class: "uh-bubble uh-att" }, icon("clip"), h("span", { text: fileName }), h("span", { class: "uh-size" })));
    } else node.append(bubble(text));
    ui.log.append(node);
    logTo(ui.log.scrollHeight);
    return node;
  }
  const removePending = () => ui.log.querySelectorAll(".uh-pending").forEach((n) => n.remove());

  function activeField() {
    const kind = S.prompt && S.prompt.input;
    return kind === "text" ? ui.text : kind === "email" || kind === "tel" || kind === "name" ? ui.input : null;
  }

  // resumed: the answer to a hello, where a value given back was lost on the way, not refused
  function renderPrompt(p, resumed) {
    S.prompt = p || { options: [], input: null, placeholder: "" };
    ui.options.textContent = "";
    for (const o of S.prompt.options || []) {
      const b = h("button", { type: "button", class: "uh-option" }, o.label || o.id);
      b.addEventListener("click", () => choose(o));
      ui.options.append(b);
    }
    ui.options.hidden = !ui.options.childElementCount;
    ui.alert.textContent = "";
    applyPrompt();

    // A step that refused the value comes back with the same prompt: give the text back to fix,
    // marked as wrong and described by the bot's words on what is wrong with it. After a
    // reconnection the step had never seen it: given back to send again, not called wrong.
    const f = activeField();
    const last = S.lastSent;
    S.lastSent = null;
    for (const field of [ui.text, ui.input]) markInvalid(field, null);
    if (f && last && last.input === S.prompt.input && last.placeholder === S.prompt.placeholder && !f.value) {
      if (!resumed) markInvalid(f, [...ui.log.querySelectorAll(".uh-bot")].pop());
      f.value = last.text;
      if (f === ui.text) grow(ui.text);
      if (S.wantFocus) {
        f.focus();
        f.select();
        S.wantFocus = false;
      }
    }
    if (f === ui.text && S.carried && !f.value) {
      f.value = S.carried;
      grow(ui.text);
      S.carried = null;
      // moved, not copied: left as the closed ticket's draft, that ticket found again would
      // call it unsent and carry it into a second new ticket
      drafts.drop("reply");
      drafts.keep("chat", chatPlace(), f.value);
    }
    // after the student acted, focus follows the conversation: to the new input or first option
    if (S.wantFocus && (S.open || S.page) && S.view === "chat") focusFirst();
    S.wantFocus = false;
  }

  // WCAG 3.3.1: a field whose value was refused says so, and which text says why (`why`, an
  // element of the panel; null clears it). Typing anew clears it too.
  function markInvalid(field, why) {
    if (!why) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
      return;
    }
    if (!why.id) why.id = "uh-why-" + ++S.whyIds;
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", why.id);
    field.addEventListener("input", () => markInvalid(field, null), { once: true });
  }

  // Shape the input row after the prompt (also after a language switch or going offline).
  function applyPrompt() {
    if (!ui.form) return;
    const p = S.prompt || {};
    const kind = p.input || null;
    const typed = kind === "email" || kind === "tel" || kind === "name";
    ui.form.hidden = !kind;
    ui.text.hidden = kind !== "text";
    // room for a long question, unless quick replies share the space (phones are short)
    ui.text.rows = ui.options.childElementCount ? 1 : 2;
    ui.input.hidden = !typed;
    ui.fileBtn.parentNode.hidden = kind !== "file";
    ui.privacy.hidden = PERSONAL.indexOf(kind) < 0;
    ui.send.hidden = kind === "file";
    const field = kind === "text" ? ui.text : ui.input;
    ui.fieldLabel.setAttribute("for", field.id);
    // the file step has no box to write in: read out alone, "Scrivi un messaggio" misleads
    ui.fieldLabel.hidden = kind === "file";
    field.placeholder = p.placeholder || T("placeholder");
    if (typed) {
      ui.input.type = kind === "name" ? "text" : kind;
      ui.input.autocomplete = kind;
      ui.input.setAttribute("inputmode", kind === "name" ? "text" : kind);
      ui.input.setAttribute("autocapitalize", kind === "name" ? "words" : "off");
      ui.input.spellcheck = kind === "name";
    }
    const on = S.connected && S.bound && !S.busy && !S.uploading;
    [ui.send, ui.fileBtn].concat(Array.from(ui.options.children)).forEach((b) => setEnabled(b, on));
  }

  function setBusy(on) {
    S.busy = on;
    clearTimeout(S.busyTimer);
    // never leave the student stuck if an answer is lost: give the controls back after a while
    if (on) S.busyTimer = setTimeout(() => (setBusy(false), showTyping(false)), 20000);
    applyPrompt();
  }

  function setOnline(on) {
    S.connected = on;
    ui.offline.hidden = on; // only failures call us with false: no banner while first connecting
    if (!on) showTyping(false);
    applyPrompt();
  }

  function showTyping(on) {
    ui.typing.hidden = !on;
    if (on) logTo(ui.log.scrollHeight);
  }

  function ready() {
    return S.connected && S.bound && !S.busy && !S.uploading && S.conversationId;
  }

  function choose(o) {
    if (!ready()) return;
    S.wantFocus = true;
    // the dialogue's own language buttons ("lang:en") switch our labels as well
    if (/^lang:/.test(o.id)) {
      setLang(o.id.slice(5));
      keepLang();
    }
    addPending(o.label || o.id);
    emit("choose", { conversation_id: S.conversationId, option: o.id });
    setBusy(true);
    showTyping(true);
  }

  function submitText() {
    const f = activeField();
    if (!f || !ready()) return;
    const text = f.value.trim().slice(0, 4000);
    if (!text) return;
    S.wantFocus = true;
    S.lastSent = { text, input: S.prompt.input, placeholder: S.prompt.placeholder };
    addPending(text);
    emit("say", { conversation_id: S.conversationId, text });
    f.value = "";
    if (f === ui.text) grow(ui.text);
    setBusy(true);
    showTyping(true);
  }

  async function uploadChatFile(picked) {
    if (!ready()) {
      // The phone's gallery sent the tab to the background and the connection went with it:
      // the photo is shown taken, and goes once the chat is back (onState), not dropped unsaid.
      if (!S.connected || !S.bound) {
        S.held = { file: picked };
        removePending();
        addPending(null, picked.name);
      }
      return;
    }
    S.uploading = true; // nothing else is sent while a photo is made smaller
    applyPrompt();
    const f = await fitFile(picked);
    S.uploading = false;
    const err = checkFile(f);
    if (err) {
      ui.alert.textContent = T(err);
      applyPrompt();
      return;
    }
    ui.alert.textContent = "";
    const node = addPending(null, f.name);
    const pct = node.querySelector(".uh-size");
    const fd = new FormData();
    fd.append("attachment", f, f.name);
    S.uploading = true;
    applyPrompt();
    try {
      const res = await http("POST", "/api/chat/" + encodeURIComponent(S.conversationId) + "/attachments", {
        form: fd,
        size: f.size,
        progress: (n) => (pct.textContent = " · " + T("uploading", { pct: n })),
      });
      pct.textContent = " · " + fmtSize(res && res.size ? res.size : f.size);
      S.uploading = false;
      // uploaded while the connection dropped: not lost, it joins the request once it is back
      if (!attach(res.id)) {
        S.held = { id: res.id };
        applyPrompt();
      }
    } catch (e) {
      S.uploading = false;
      node.remove();
      ui.alert.textContent = e.message || T("genericError");
      applyPrompt();
    }
  }

  // An uploaded file joins the request; false when the chat is not connected to say so.
  function attach(id) {
    if (!emit("attach", { conversation_id: S.conversationId, attachment_id: id })) return false;
    S.wantFocus = true;
    setBusy(true);
    showTyping(true);
    return true;
  }

  function askRestart() {
    ui.confirm.hidden = false;
    ui.confirm.querySelector("button").focus();
  }
  function cancelRestart() {
    ui.confirm.hidden = true;
    ui.restartBtn.focus();
  }
  function doRestart() {
    ui.confirm.hidden = true;
    if (!S.connected || !S.conversationId) {
      ui.restartBtn.focus();
      return;
    }
    // the transcript stays (the server keeps it too); the dialogue starts again below it
    S.wantFocus = true;
    emit("restart", { conversation_id: S.conversationId });
    setBusy(true);
    showTyping(true);
  }

  /* ----- tickets: look-up, view, reply, live updates ----- */

  async function lookup() {
    const email = ui.lkEmail.value.trim();
    const number = ui.lkNumber.value.trim();
    for (const field of [ui.lkEmail, ui.lkNumber]) markInvalid(field, null);
    if (!email || !number) {
      ui.lkAlert.textContent = T("lookupMissing");
      const missing = email ? ui.lkNumber : ui.lkEmail;
      markInvalid(missing, ui.lkAlert);
      missing.focus();
      return;
    }
    if (!enabled(ui.lkSubmit)) return;
    setEnabled(ui.lkSubmit, false);
    ui.lkAlert.textContent = "";
    try {
      // the digits alone: "000 412", as a phone groups it or a student reads it aloud, is
      // the same ticket, and the server takes only "#000412" and "412" as its spellings
      const res = await http("POST", "/api/tickets/lookup", { json: { email, number: normalNumber(number) || number } });
      ui.lkNumber.value = "";
      openTicket(res, true);
    } catch (e) {
      ui.lkAlert.textContent = e.message;
      if (e.status === 404) {
        // one answer for a wrong email and a wrong number: both are in question; the number,
        // the one more often mistyped, takes the focus
        for (const field of [ui.lkEmail, ui.lkNumber]) markInvalid(field, ui.lkAlert);
        ui.lkNumber.focus();
      }
    } finally {
      setEnabled(ui.lkSubmit, true);
    }
  }

  function openTicket(t, moveFocus) {
    const changed = !S.ticket || S.ticket.number !== t.number || S.ticket.token !== t.token;
    S.ticket = { number: String(t.number), token: t.token, active: true };
    if (changed) {
      S.ticketBody = null;
      S.msgCount = 0;
      ui.thread.textContent = "";
      setTkHeading(S.ticket.number);
      setReplyFile(null);
      ui.reply.value = "";
    }
    if (!ui.reply.value) ui.reply.value = drafts.get("reply", S.ticket.number);
    if (S.waitingFile && S.waitingFile.number === S.ticket.number) setReplyFile(S.waitingFile.file);
    S.waitingFile = null;
    ui.tkAlert.textContent = "";
    ui.tkStatus.textContent = "";
    showView("ticket", moveFocus);
    connect();
    watchTicket();
    refreshTicket();
  }

  // Watching tells the office the student reads its replies here, so they are not mailed. A page
  // left in a background tab is read by nobody: it stops watching, and watches again when shown.
  function watchTicket() {
    if (!document.hidden) emit("watch_ticket", { token: S.ticket.token, lang: S.lang });
  }

  document.addEventListener("visibilitychange", () => {
    if (S.view !== "ticket" || !S.ticket) return;
    if (document.hidden) emit("unwatch_ticket", { token: S.ticket.token });
    else {
      watchTicket();
      refreshTicket();
    }
  });

  function setTkHeading(number) {
    ui.tkHeading.textContent = "";
    ui.tkHeading.append(h("span", { class: "uh-tk-label", text: T("ticket") }), h("span", { class: "uh-tk-num", text: number }));
  }

  async function refreshTicket() {
    const t = S.ticket;
    if (!t) return false;
    try {
      renderTicket(await http("GET", "/api/tickets/" + encodeURIComponent(t.number), { token: t.token }));
      return true;
    } catch (e) {
      if (S.ticket !== t) return false;
      if (e.status === 401 || e.status === 403 || e.status === 404) accessExpired();
      else ui.tkAlert.textContent = e.message;
      return false;
    }
  }

  function forgetTicket(message) {
    S.ticket = null;
    S.ticketBody = null;
    saveTicket();
    showView("lookup", true);
    ui.lkAlert.textContent = message || "";
  }

  // The ticket's access ran out (a day after the look-up, a tab a phone kept open): the student
  // finds it again with the number filled back in, and a reply being written waits for that
  // ticket, its text in the drafts and its file kept here.
  function accessExpired() {
    const number = S.ticket && S.ticket.number;
    const writing = Boolean(ui.reply.value.trim() || S.replyFile);
    S.waitingFile = number && S.replyFile ? { number, file: S.replyFile } : null;
    forgetTicket(T(writing ? "sessionExpiredKept" : "sessionExpired"));
    if (number) ui.lkNumber.value = number;
  }

  // The ticket a duplicate was closed in favour of, looked up with the email just used.
  function followDuplicate() {
    const other = S.ticketBody && S.ticketBody.duplicate_of;
    if (!other) return;
    stopTyping();
    forgetTicket("");
    ui.lkNumber.value = other;
    if (ui.lkEmail.value.trim()) lookup();
    else ui.lkEmail.focus();
  }

  function leaveTicket() {
    if (S.chatless) {
      stopTyping();
      forgetTicket("");
    } else showView("chat", true);
  }

  function onTicket(b) {
    if (!b || !S.ticket || String(b.number) !== S.ticket.number) return;
    if (S.watchDelay) {
      // followed again after a refusal: its message no longer holds
      S.watchDelay = 0;
      ui.tkAlert.textContent = "";
    }
    renderTicket(b);
  }

  function renderTicket(b, full) {
    if (!b || !S.ticket || String(b.number) !== S.ticket.number) return;
    S.ticketBody = b;
    setTkHeading(b.number);
    // in a role=status: rewritten only when it changes, or every refresh says it again
    const badge = T("st_" + b.status) || b.status_label || b.status;
    if (ui.tkBadge.textContent !== badge) ui.tkBadge.textContent = badge;
    ui.tkBadge.className = "uh-badge uh-st-" + b.status;
    // closed in favour of the same request's other ticket: that is the one to follow
    ui.tkHelp.textContent = b.duplicate_of ? T("st_duplicate_help", { number: b.duplicate_of }) : T("st_" + b.status + "_help");
    // the office closes tickets left unanswered (HELPDESK_AWAITING_CLOSE_DAYS): say until when.
    // The day is Perugia's, and ends there (web/desk/unanswered.py): hours before it ends in
    // New York, and a phone there is told so.
    if (b.closes_at) {
      const day = fmtDay(new Date(b.closes_at)).replace(/^on /, "");
      ui.tkHelp.textContent += " " + T("closesAt", { day: awayFromOffice ? T("officeTime", { time: day }) : day });
    }
    // a closed ticket has nobody helping any more: who did
    const helper = b.status === "closed" ? "operatorClosed" : "operator";
    ui.tkOperator.textContent = b.operator && b.operator.name ? T(helper, { name: b.operator.name }) : T("noOperator");
    showWait(ui.tkWait, b.queue);

    const msgs = b.messages || [];
    const fill = () => {
      const fresh = msgs.slice(S.msgCount);
      fresh.forEach((m) => ui.thread.append(renderMessage(m)));
      S.msgCount = msgs.length;
      return fresh;
    };
    let fresh;
    if (full || msgs.length < S.msgCount) {
      quietly(ui.thread, () => {
        ui.thread.textContent = "";
        S.msgCount = 0;
        fresh = fill();
      });
    } else fresh = fill();
    if (fresh.some((m) => m.author === "operator")) ui.opTyping.hidden = true;
    confirmReply(msgs);

    const closed = b.status === "closed";
    // a reply being written when the ticket closed: not sent, and not lost without a word
    const unsent = closed && !ui.replyForm.hidden && ui.reply.value.trim();
    // the box being hidden under the keyboard would drop it to the top of the page
    const wasWriting = closed && ui.replyForm.contains(ui.wrap.getRootNode().activeElement);
    ui.replyForm.hidden = closed;
    ui.closedBox.hidden = !closed;
    if (closed) {
      ui.closedText.textContent = (b.duplicate_of ? T("closedDuplicate", { number: b.duplicate_of }) : T("closedNote"))
        + (unsent ? " " + T("closedUnsent") : "");
      ui.tkStatus.textContent = ""; // "Messaggio inviato." was about a reply box now gone
      // a duplicate's way on is the other ticket, not a third one
      ui.followBtn.hidden = !b.duplicate_of;
      ui.followBtn.textContent = b.duplicate_of ? T("followTicket", { number: b.duplicate_of }) : "";
      ui.newTicketBtn.hidden = !!b.duplicate_of;
      if (wasWriting) focusWayOn();
    }
    renderRating(b);
  }

  // A closed ticket's way on: its duplicate's ticket, else a new one.
  const focusWayOn = () => (ui.followBtn.hidden ? ui.newTicketBtn : ui.followBtn).focus();

  function renderMessage(m) {
    const author = m.author === "student" || m.author === "system" ? m.author : "operator";
    const who = author === "operator" ? m.name || T("author_operator") : T("author_" + author);
    const files = m.attachments || [];
    return h(
      "div",
      { class: "uh-msg uh-msg-" + author },
      h("p", { class: "uh-meta" }, h("span", { class: "uh-who", text: who }), m.at ? " · " + fmtDate(m.at) : ""),
      m.body ? h("p", { class: "uh-body", dir: "auto" }, ...linkified(m.body)) : null,
      files.length
        ? h(
            "ul",
            { class: "uh-files" },
            files.map((a) =>
              h(
                "li",
                null,
                h(
                  "button",
                  { type: "button", class: "uh-file", onclick: () => download(a) },
                  icon("clip"),
                  h("span", { class: "uh-sr", text: T("download") + " " }),
                  h("span", { class: "uh-fname", text: a.filename || "file" }),
                  h("span", { class: "uh-size", text: " · " + fmtSize(a.size) })
                )
              )
            )
          )
        : null
    );
  }

  // A plain link cannot carry the bearer token: fetch the file, then save the blob.
  async function download(a) {
    const t = S.ticket;
    if (!t) return;
    ui.tkAlert.textContent = "";
    try {
      const blob = await http("GET", "/api/tickets/" + encodeURIComponent(t.number) + "/attachments/" + encodeURIComponent(a.id), {
        token: t.token,
        blob: true,
      });
      saveBlob(blob, a.filename || "allegato");
    } catch (e) {
      ui.tkAlert.textContent = e.status ? e.message : T("downloadError");
    }
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const save = h("a", { href: url, download: name, hidden: true });
    ui.wrap.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function setReplyFile(f) {
    S.replyFile = f;
    ui.rChip.textContent = "";
    ui.rChip.hidden = !f;
    if (!f) return;
    const rm = h("button", { type: "button", class: "uh-chip-x", "aria-label": T("removeFile", { name: f.name }) }, icon("close"));
    rm.addEventListener("click", () => {
      setReplyFile(null);
      ui.rAttach.focus();
    });
    ui.rChip.append(icon("clip"), h("span", { class: "uh-fname", text: f.name }), h("span", { class: "uh-size", text: " · " + fmtSize(f.size) }), rm);
  }

  async function sendReply() {
    const t = S.ticket;
    if (!t || !enabled(ui.rSend)) return;
    const body = ui.reply.value.trim();
    const f = S.replyFile;
    ui.tkAlert.textContent = "";
    ui.tkStatus.textContent = "";
    if (!body && !f) {
      ui.tkAlert.textContent = T("emptyReply");
      ui.reply.focus();
      return;
    }
    const o = { token: t.token };
    if (f) {
      o.form = new FormData();
      o.form.append("body", body);
      o.form.append("attachment", f, f.name);
      // a role=status: every percent would be read out; a quarter at a time is news
      let said = -1;
      o.progress = (n) => {
        const step = Math.floor(n / 25) * 25;
        if (step !== said) ui.tkStatus.textContent = T("uploading", { pct: (said = step) });
      };
    } else o.json = { body };
    setEnabled(ui.rSend, false);
    ui.tkStatus.textContent = T("sending");
    stopTyping();
    // Sent again after the network lost the answer: it may have arrived all the same, and
    // posting it blind would put it in the thread twice. Look first; unsure, send nothing.
    const u = S.unconfirmed;
    if (u && u.number === t.number && u.body === asStored(body) && u.file === (f ? f.name : null)) {
      const looked = await refreshTicket();
      if (!looked || S.unconfirmed !== u) {
        if (!looked) ui.tkStatus.textContent = "";
        setEnabled(ui.rSend, true);
        return;
      }
    }
    S.unconfirmed = null;
    const sent = { number: t.number, body: asStored(body), file: f ? f.name : null, after: S.msgCount };
    try {
      await http("POST", "/api/tickets/" + encodeURIComponent(t.number) + "/messages", o);
      ui.reply.value = "";
      drafts.drop("reply");
      setReplyFile(null);
      ui.tkStatus.textContent = T("sent");
      await refreshTicket();
    } catch (e) {
      ui.tkStatus.textContent = "";
      if (e.status === 409) {
        // closed meanwhile: keep the text for the new ticket, say why, and offer one
        ui.closedBox.hidden = false;
        ui.closedText.textContent = e.message + (ui.reply.value.trim() ? " " + T("closedUnsent") : "");
        ui.replyForm.hidden = true;
        focusWayOn();
      } else if (e.status === 401 || e.status === 403 || e.status === 404) accessExpired();
      else {
        ui.tkAlert.textContent = e.message;
        // no answer, or a proxy that gave up waiting for one: the server may have kept it
        if (!e.status || e.status === 504) {
          S.unconfirmed = sent;
          // the live update may have shown it arriving before the answer was lost
          if (S.ticketBody) confirmReply(S.ticketBody.messages || []);
        }
      }
    } finally {
      setEnabled(ui.rSend, true);
    }
  }

  // The body as the server keeps it (bot/validate.py: control characters out, trimmed).
  const asStored = (text) => text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "").trim();

  // The thread now holds the reply whose answer was lost: it was sent, and is said so.
  function confirmReply(msgs) {
    const u = S.unconfirmed;
    if (!u || u.number !== S.ticket.number) return;
    const arrived = msgs
      .slice(u.after)
      .some((m) => m.author === "student" && (m.body || "") === u.body && (!u.file || (m.attachments || []).length));
    if (!arrived) return;
    S.unconfirmed = null;
    if (asStored(ui.reply.value) === u.body) {
      ui.reply.value = "";
      drafts.drop("reply");
    }
    if (S.replyFile && S.replyFile.name === u.file) setReplyFile(null);
    ui.tkAlert.textContent = "";
    ui.tkStatus.textContent = T("sent");
  }

  // student_typing, at most one "true" every 3 s, and "false" after 4 s of quiet.
  function studentTyping() {
    if (!S.ticket || !S.connected) return;
    const now = Date.now();
    if (now - S.typingSent > 3000 && emit("student_typing", { token: S.ticket.token, typing: true })) S.typingSent = now;
    clearTimeout(S.typingIdle);
    S.typingIdle = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(S.typingIdle);
    if (S.typingSent && S.ticket) emit("student_typing", { token: S.ticket.token, typing: false });
    S.typingSent = 0;
  }

  function onOperatorTyping(p) {
    if (!p || !S.ticket || String(p.number) !== S.ticket.number) return;
    ui.opTyping.hidden = !p.typing;
    clearTimeout(S.opTypingTimer);
    // a lost "stopped typing" must not leave the indicator on forever
    if (p.typing) S.opTypingTimer = setTimeout(() => (ui.opTyping.hidden = true), 10000);
  }

  // "Apri un nuovo ticket" from a closed one: a new conversation that refers to it (the server
  // fills in email, name, phone and the reference from the ticket the token opens).
  function newTicket() {
    S.followUp = S.ticket ? S.ticket.token : null;
    // a reply the closing left unsent (its box hidden) is the new ticket's question, already typed
    S.carried = (ui.replyForm.hidden && ui.reply.value.trim()) || null;
    ui.reply.value = "";
    S.conversationId = null;
    keepConversation(null);
    S.renderedIds = [];
    ui.log.textContent = "";
    renderPrompt(null);
    S.wantFocus = true;
    showView("chat", true);
    if (S.chatStarted && S.connected) sendHello();
    else startChat();
  }

  /* ----- rating: the stars of a closed ticket (also opened from the closing mail's link) ----- */

  // One tap on a star sends the rating (with the comment, if one was written): a rating is
  // given once, and a second step would lose most of them.
  function buildRating() {
    ui.rateTitle = tr(h("h4", { class: "uh-h4", id: "uh-rate-title", tabindex: "-1" }), "rateTitle");
    ui.rateComment = h("textarea", { id: "uh-rate-comment", class: "uh-field", rows: "2", maxlength: "1000" });
    ui.rateStarBtns = [1, 2, 3, 4, 5].map((n) =>
      h(
        "button",
        {
          type: "button",
          class: "uh-star",
          onclick: () => sendRating(n),
          onmouseenter: () => lightStars(n),
          onfocus: () => lightStars(n),
          onmouseleave: () => lightStars(0),
          onblur: () => lightStars(0),
        },
        h("span", { "aria-hidden": "true", text: "\u2605" })
      )
    );
    ui.rateForm = h(
      "div",
      { class: "uh-form" },
      tr(h("p", { class: "uh-muted" }), "rateIntro"),
      tr(h("label", { for: "uh-rate-comment" }), "rateComment"),
      ui.rateComment,
      tr(h("p", { class: "uh-hint", id: "uh-rate-stars" }), "rateStars"),
      h("div", { class: "uh-stars", role: "group", "aria-labelledby": "uh-rate-stars" }, ui.rateStarBtns)
    );
    ui.rateDone = h("p", { class: "uh-rate-done", tabindex: "-1" });
    ui.rateAlert = h("p", { class: "uh-alert", role: "alert" });
    return (ui.rateBox = h(
      "section",
      { class: "uh-card uh-rate", "aria-labelledby": "uh-rate-title", hidden: true },
      ui.rateTitle,
      ui.rateForm,
      ui.rateDone,
      ui.rateAlert
    ));
  }

  function lightStars(n) {
    ui.rateStarBtns.forEach((b, i) => b.classList.toggle("uh-star-on", i < n));
  }

  function renderRating(b) {
    // a duplicate was closed unanswered: the help is rated on the ticket that goes on
    const closed = b.status === "closed" && !b.duplicate_of;
    // the mail's link is followed once, on the ticket as it is now
    const go = S.wantRating && S.page;
    S.wantRating = false;
    ui.rateBox.hidden = !closed;
    if (!closed) return;
    const r = b.rating;
    ui.rateForm.hidden = !!r;
    ui.rateDone.hidden = !r;
    ui.rateStarBtns.forEach((btn, i) => btn.setAttribute("aria-label", T("rateStar", { n: i + 1, label: T("rate" + (i + 1)) })));
    if (r) {
      ui.rateDone.textContent = "";
      // DOM append writes a null as the text "null": the comment goes in only when there is one
      ui.rateDone.append(
        h("span", { class: "uh-stars-shown", "aria-hidden": "true", text: "\u2605".repeat(r.score) + "\u2606".repeat(5 - r.score) }),
        " " + T("rateDone", { n: r.score }),
        ...(r.comment ? [h("span", { class: "uh-rate-comment", text: "\u201c" + r.comment + "\u201d" })] : [])
      );
    }
    if (go) {
      ui.rateBox.scrollIntoView({ block: "center" });
      (r ? ui.rateDone : ui.rateTitle).focus();
    }
  }

  async function sendRating(score) {
    const t = S.ticket;
    if (!t || S.rating) return;
    S.rating = true;
    ui.rateAlert.textContent = "";
    const comment = ui.rateComment.value.trim();
    try {
      const res = await http("POST", "/api/tickets/" + encodeURIComponent(t.number) + "/rating", {
        token: t.token,
        json: comment ? { score, comment } : { score },
      });
      if (S.ticketBody && S.ticket === t) {
        S.ticketBody.rating = res.rating;
        renderRating(S.ticketBody);
        ui.rateComment.value = "";
        ui.rateDone.focus();
      }
    } catch (e) {
      if (e.status === 401 || e.status === 403 || e.status === 404) accessExpired();
      else {
        ui.rateAlert.textContent = e.message;
        if (e.status === 409) refreshTicket(); // rated from another tab, or reopened meanwhile
      }
    } finally {
      S.rating = false;
    }
  }

  /* ----- wait: a waiting ticket's place in the queue, live, in the chat and the ticket view ----- */

  // The chat's latest ticket card follows its ticket's place (over HTTP first: a card replayed
  // from an old transcript may hold a token that has expired, and then says nothing).
  async function followWait(d, el) {
    if (S.waitCard) showWait(S.waitCard.el, null); // an older card no longer says a place
    const card = (S.waitCard = { number: String(d.number), token: d.token, el, waiting: false });
    try {
      const b = await http("GET", "/api/tickets/" + encodeURIComponent(card.number), { token: card.token });
      if (S.waitCard !== card) return;
      showWait(el, b.queue);
      card.waiting = !!b.queue;
      if (card.waiting) {
        connect();
        emit("watch_wait", { token: card.token });
      }
    } catch (e) {
      /* no place to show */
    }
  }

  function onWait(p) {
    if (!p) return;
    const number = String(p.number);
    if (S.waitCard && S.waitCard.number === number) {
      showWait(S.waitCard.el, p.queue);
      S.waitCard.waiting = !!p.queue;
    }
    if (S.ticket && S.ticket.number === number && S.ticketBody) {
      S.ticketBody.queue = p.queue;
      showWait(ui.tkWait, p.queue);
    }
  }

  // "Prima della tua ci sono 13 richieste in coda: al ritmo attuale dell'ufficio ti
  // risponderemo tra circa 3 ore." (the estimate grows with the place: web/desk/waiting.py) and,
  // when there is one, what it does not know (office hours); nothing once the ticket is
  // answered. Counted ahead, not as an ordinal: "il 8°" and "il 11°" are no Italian. Only the
  // place and the estimate are a live region: the note would be read out at every move.
  function showWait(el, q) {
    const [text, remark] = q ? waitText(q) : ["", ""];
    // compared as read: the same words again (a moment later, the estimate unchanged) would
    // only be read out again from the live region
    const said = JSON.stringify([text, remark]);
    if (el.dataset.said === said) return;
    el.dataset.said = said;
    if (!el.firstChild) {
      el.append(h("strong", { "aria-live": "polite", "aria-atomic": "true" }), h("span", { class: "uh-wait-note" }));
    }
    const [live, note] = el.children;
    el.hidden = !q;
    live.textContent = text;
    note.textContent = remark;
  }

  // [the place and the estimate, what the estimate does or does not know]
  function waitText(q) {
    const ahead = q.position - 1;
    const place = ahead < 1 ? T("waitFirst") : ahead === 1 ? T("waitAhead1") : T("waitAhead", { n: ahead });
    const m = q.expected_wait_minutes;
    if (q.office) {
      const [text, estimated] = officeWait(place, q);
      return [text, estimated ? " " + T("waitNoteHours") : ""];
    }
    // a day and more of the office's work: no count of hours or days that would sound exact
    const text = m == null ? place + "." : m >= 24 * 60 ? T("waitLong", { place }) : T("waitExpected", { place, time: fmtWait(m) });
    return [text, m == null ? "" : " " + T("waitNote")];
  }

  // With the office's hours known (web/desk/office_hours.py): closed now, it says when it
  // reopens; an answer expected on another day says the day, not a count of hours that would
  // include the night. [the text, whether it gives an estimate]: the note that calls it one
  // must not follow the reopening alone, which is the office's hours, not a guess.
  function officeWait(place, q) {
    const expected = q.expected_at ? new Date(q.expected_at) : null;
    if (!q.office.open) {
      const opens = new Date(q.office.opens_at);
      if (!expected || officeDay(expected) === officeDay(opens)) return [T("waitClosed", { place, when: fmtOpening(opens) }), false];
      return [T("waitClosedDay", { place, when: fmtOpening(opens), day: fmtDay(expected) }), true];
    }
    if (!expected) return [place + ".", false];
    if (officeDay(expected) === officeDay(new Date())) return [T("waitExpected", { place, time: fmtWait(q.expected_wait_minutes) }), true];
    return [T("waitOnDay", { place, day: fmtDay(expected) }), true];
  }

  // Days and clock times as the office keeps them, in Perugia, whatever the phone's zone.
  const officeDay = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: OFFICE_TZ }).format(d);
  function fmtDay(d) {
    // "domani" is Perugia's tomorrow, and a phone on another clock may be a day off: at 1:00 on
    // Tuesday in Kolkata, Perugia's "domani" is that same Tuesday. Such a phone reads the date.
    if (awayFromOffice) return namedDay(d);
    const today = officeDay(new Date());
    const [y, m, dd] = today.split("-").map(Number);
    const tomorrow = new Date(Date.UTC(y, m - 1, dd + 1)).toISOString().slice(0, 10);
    if (officeDay(d) === today) return T("today");
    if (officeDay(d) === tomorrow) return T("tomorrow");
    return namedDay(d);
  }
  function namedDay(d) {
    const o = { timeZone: OFFICE_TZ, weekday: "long", day: "numeric", month: "long" };
    const day = new Intl.DateTimeFormat(locale(), o).format(d).replace(",", "");
    return S.lang === "en" ? "on " + day : day;
  }
  function fmtOpening(d) {
    const time = new Intl.DateTimeFormat(locale(), { timeZone: OFFICE_TZ, hour: "numeric", minute: "2-digit" }).format(d);
    return T("dayAt", { day: fmtDay(d), time: awayFromOffice ? T("officeTime", { time }) : time });
  }

  // Under a day, as people say it: "2 minuti", "25 minuti", "un'ora e mezza", "5 ore".
  function fmtWait(m) {
    if (m < 10) return m <= 1 ? T("waitMin1") : T("waitMins", { n: m });
    if (m < 58) return T("waitMins", { n: Math.round(m / 5) * 5 });
    if (m < 180) {
      const halves = Math.max(2, Math.round(m / 30)); // in half hours, 2..6
      const hours = Math.floor(halves / 2);
      if (halves % 2) return hours === 1 ? T("waitHour1Half") : T("waitHoursHalf", { n: hours });
      return hours === 1 ? T("waitHour1") : T("waitHours", { n: hours });
    }
    return T("waitHours", { n: Math.round(m / 60) });
  }

  /* ----- privacy: the notice before personal data is asked, "download your data" ----- */

  // The steps that ask for personal data (the email first): the notice is linked right there.
  const PERSONAL = ["email", "name", "tel", "file"];
  const privacyUrl = () => ORIGIN + "/privacy" + (S.lang === "en" ? "?lang=en" : "");

  function privacyLink() {
    return h(
      "a",
      { href: privacyUrl(), target: "_blank", rel: "noopener noreferrer" },
      tr(h("span"), "privacyLink"),
      h("span", { class: "uh-sr" }, " ", tr(h("span"), "newTab"))
    );
  }

  function privacyNotice() {
    return h("p", { class: "uh-privacy" }, tr(h("span"), "privacyNotice"), " ", privacyLink());
  }

  // Everything kept about the student's email, as a file (GDPR arts. 15 and 20).
  async function exportData() {
    const t = S.ticket;
    if (!t || !enabled(ui.exportBtn)) return;
    ui.tkAlert.textContent = "";
    setEnabled(ui.exportBtn, false);
    try {
      const blob = await http("GET", "/api/tickets/" + encodeURIComponent(t.number) + "/export", { token: t.token, blob: true });
      saveBlob(blob, T("exportName", { number: t.number }));
    } catch (e) {
      if (e.status === 401 || e.status === 403 || e.status === 404) accessExpired();
      else ui.tkAlert.textContent = e.status ? e.message : T("exportError");
    } finally {
      setEnabled(ui.exportBtn, true);
    }
  }

  /* ----- mount: into the page, or inside an element in page mode ----- */

  function mount() {
    let target = null;
    if (opt.mode === "page" && opt.target) {
      try {
        target = document.querySelector(opt.target);
      } catch (e) {
        target = null;
      }
    }
    S.page = !!target;
    S.chatless = S.page && opt.view === "ticket";
    S.number = target && target.dataset.number; // /ticket?number=… prefills the look-up
    const host = h("div", { id: HOST_ID, class: S.page ? "uh-page-host" : null });
    const root = host.attachShadow({ mode: "open" });
    const css = h("link", { rel: "stylesheet", href: STATIC + "widget.css" });
    const wrap = build();
    // stay invisible until our stylesheet is in, so the page never flashes unstyled controls
    const reveal = () => (wrap.hidden = false);
    css.addEventListener("load", reveal);
    css.addEventListener("error", reveal);
    root.append(css, wrap);
    // Beside the body, not in it: a filter or transform on the body (a mourning day's greyscale,
    // an accessibility toolbar) would pin our fixed launcher and panel to the page's end, and
    // the root element's never does.
    (target || document.documentElement).appendChild(host);

    // a mail's link names its ticket: the one this tab followed before may be another
    const tk = S.ticket && (!S.page || !S.number || normalNumber(S.number) === S.ticket.number) ? S.ticket : null;
    if (S.chatless) showView(tk ? "ticket" : "lookup");
    else showView(tk && tk.active ? "ticket" : "chat");
    if (S.page && !S.chatless) followLinksHere(host);
    if (S.page) activate();
    else if (opt.open === "true") open();

    api.open = open;
    api.close = close;
  }

  // The page's own links to the chat (the landing's "Apri un nuovo ticket" and the FAQ page's
  // "Apri un ticket", to #chat) only scrolled: nothing was said, and Tab went on from where the
  // student was. They take the keyboard into the chat, as the launcher does.
  function followLinksHere(host) {
    const here = (hash) => {
      const to = hash.length > 1 && document.getElementById(hash.slice(1));
      return !!to && to.contains(host);
    };
    if (here(location.hash)) S.wantFocus = true; // the first prompt is on its way
    document.addEventListener("click", (e) => {
      const a = e.target instanceof Element && e.target.closest("a[href^='#']");
      if (a && here(a.hash) && S.view === "chat") setTimeout(focusFirst);
    });
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
