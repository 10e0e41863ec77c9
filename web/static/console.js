/* The operators' console: sign in, the live queue, one ticket at a time, the team, the FAQ report.
 *
 * Plain JavaScript, no build step. Every piece of data reaches the page through textContent
 * (h() below), never innerHTML: names and messages come from students. The session cookie is
 * HttpOnly; this script only holds the CSRF token, sent with every POST and in the socket's
 * auth. Server events and payloads: docs/protocol.md, section /console.
 */
(function () {
  "use strict";

  const TEXTS = {
    it: {
      appTitle: "Console operatori",
      desk: "Assistenza immatricolazioni",
      uni: "Università degli Studi di Perugia",
      skip: "Vai al ticket",
      loginTitle: "Accesso operatori",
      loginIntro: "Accedi con il nome utente e la password che ti ha dato l'amministratore.",
      username: "Nome utente",
      password: "Password",
      signIn: "Accedi",
      signingIn: "Accesso in corso…",
      signOut: "Esci",
      expired: "La sessione è scaduta per inattività o è stata chiusa: accedi di nuovo.",
      revoked: "Il tuo accesso è stato revocato o la password è cambiata: accedi di nuovo.",
      loggedOut: "Sei uscito dalla console.",
      network: "Connessione al server non riuscita: controlla la rete e riprova.",
      serverError: "Il server non ha risposto come previsto: riprova tra poco.",
      langSwitch: "English",
      langSwitchLang: "en",
      online: "In linea",
      nobodyOnline: "solo tu",
      liveOn: "Aggiornamenti in tempo reale attivi",
      liveOff: "Aggiornamenti in tempo reale interrotti: nuovo tentativo in corso…",
      sound: "Suono",
      soundOn: "Suono per i nuovi messaggi: attivo",
      soundOff: "Suono per i nuovi messaggi: disattivato",
      team: "Operatori",
      parked: "Posta non recapitata",
      queue: "Coda dei ticket",
      statusFilter: "Stato",
      all: "Tutti",
      search: "Cerca",
      searchLabel: "Cerca per numero, email, nome o testo",
      searchPlaceholder: "es. 000412, rossi@…, ISEE",
      assigned: "Assegnazione",
      assignedMineFree: "Miei e da assegnare",
      assignedMine: "Assegnati a me",
      assignedFree: "Da assegnare",
      assignedAll: "Di tutti",
      subtopic: "Argomento",
      anySubtopic: "Tutti gli argomenti",
      sort: "Ordine",
      sortOldest: "Prima i più vecchi",
      sortNewest: "Prima i più recenti",
      sortWaiting: "Fermi da più tempo",
      emptyQueue: "Nessun ticket con questi filtri.",
      shown: "{shown} di {total}",
      loading: "Caricamento…",
      unassigned: "Da assegnare",
      mine: "Tuo",
      needsReply: "Da rispondere",
      newBadge: "Nuovo",
      unreadLabel: "nuovi messaggi",
      ageTitle: "Aperto {age} fa, il {date}",
      now: "ora",
      min: "{n} min",
      hours: "{n} h",
      days: "{n} g",
      pickTicket: "Seleziona un ticket dalla coda per leggerlo e rispondere.",
      back: "Torna alla coda",
      ticket: "Ticket",
      heldBy: "In carico a",
      nobody: "nessuno (da assegnare)",
      you: "te",
      take: "Prendi in carico",
      takeOver: "Prendi in carico al posto di {name}",
      confirmTakeOver: "Il ticket è in carico a {name}. Vuoi prenderlo tu? {name} vedrà il cambio.",
      transferTo: "Trasferisci a",
      transfer: "Trasferisci",
      chooseColleague: "Scegli un collega",
      confirmForce: "{message}\n\nVuoi procedere comunque?",
      setAwaiting: "In attesa dell'utente",
      setAwaitingHelp: "Hai chiesto informazioni allo studente: il ticket aspetta la sua risposta.",
      close: "Chiudi ticket",
      reopen: "Riapri",
      statusChanged: "Stato del ticket {number}: {status}.",
      assignedTo: "Ticket {number} assegnato a {name}.",
      assignedToYou: "{by} ti ha assegnato il ticket {number}.",
      newTicket: "Nuovo ticket {number} da {name}.",
      newMessage: "Nuovo messaggio dello studente nel ticket {number}.",
      viewersWarn: "Anche {names} sta guardando questo ticket.",
      viewersWarnMany: "Anche {names} stanno guardando questo ticket.",
      colleagueTyping: "{name} sta scrivendo una risposta allo studente in questo ticket: aspetta prima di rispondere.",
      colleagueNote: "{name} sta scrivendo una nota interna.",
      heldWarn: "Questo ticket è in carico a {name}: per rispondere o cambiarne lo stato prendilo in carico.",
      studentOnline: "Lo studente è collegato: vedrà la tua risposta subito.",
      studentOffline: "Lo studente non è collegato: riceverà la risposta per email.",
      studentTyping: "Lo studente sta scrivendo…",
      student: "Studente",
      studentData: "Dati dello studente",
      email: "Email",
      phone: "Cellulare",
      topic: "Argomento",
      language: "Lingua",
      langIt: "italiano",
      langEn: "inglese",
      opened: "Aperto il",
      follows: "Segue il ticket",
      otherTickets: "Altri ticket di questo studente",
      none: "nessuno",
      beforeTicket: "Prima del ticket",
      faqRefused: "FAQ proposte dall'assistente, che non hanno risolto:",
      noFaqShown: "L'assistente non aveva FAQ adatte da proporre.",
      noChat: "Ticket aperto senza la chat dell'assistente.",
      transcript: "Tutta la chat con l'assistente ({n} messaggi)",
      bot: "Assistente",
      faqShown: "FAQ proposta",
      thread: "Conversazione",
      internalNote: "Nota interna · non visibile allo studente",
      system: "Sistema",
      attachment: "Allegato",
      download: "Scarica {name} ({size})",
      history: "Storia del ticket",
      historyItem: "{status} · {by}",
      byStudent: "studente",
      bySystem: "sistema",
      composer: "Scrivi",
      modeReply: "Risposta allo studente",
      modeNote: "Nota interna",
      replyLabel: "Risposta allo studente (vedrà il tuo nome: {name})",
      noteLabel: "Nota interna per i colleghi (lo studente non la vede)",
      replyPlaceholder: "Scrivi la risposta…",
      notePlaceholder: "Scrivi una nota per i colleghi…",
      sendReply: "Invia risposta",
      saveNote: "Salva nota",
      sending: "Invio…",
      sendHint: "Ctrl+Invio per inviare",
      sentLive: "Risposta inviata: lo studente l'ha ricevuta in chat.",
      sentMail: "Risposta inviata: lo studente riceverà un'email.",
      noteSaved: "Nota salvata.",
      conflictReload: "Il ticket è stato aggiornato: la tua bozza è ancora qui.",
      canned: "Risposte pronte (FAQ)",
      cannedLabel: "Cerca nelle FAQ",
      cannedPlaceholder: "es. ISEE, seconda rata",
      cannedHint: "Le FAQ più vicine alla domanda dello studente, nella sua lingua:",
      alreadyProposed: "già proposta dall'assistente",
      cannedNone: "Nessuna FAQ trovata.",
      insert: "Inserisci",
      insertLabel: "Inserisci nella risposta: {question}",
      inserted: "Risposta della FAQ inserita nel testo: rileggila prima di inviare.",
      teamTitle: "Operatori",
      teamIntro: "Gli account disattivati non possono più accedere; le loro sessioni si chiudono subito.",
      name: "Nome visibile agli studenti",
      role: "Ruolo",
      roleOperator: "Operatore",
      roleEditor: "Redattore FAQ",
      roleAdmin: "Amministratore",
      state: "Stato",
      active: "Attivo",
      inactive: "Disattivato",
      isOnline: "in linea",
      actions: "Azioni",
      deactivate: "Disattiva",
      activate: "Riattiva",
      save: "Salva",
      newPassword: "Nuova password",
      setPassword: "Cambia password",
      passwordHint: "Almeno 10 caratteri.",
      addOperator: "Nuovo operatore",
      add: "Crea account",
      added: "Account {username} creato.",
      updated: "Account {username} aggiornato.",
      parkedTitle: "Posta non recapitata",
      parkedIntro: "Notifiche che non è stato possibile recapitare: contatta questi studenti in altro modo, oppure riprova l'invio dopo averne risolto la causa.",
      parkedNone: "Nessuna email in sospeso.",
      to: "Destinatario",
      subject: "Oggetto",
      attempts: "Tentativi",
      reason: "Motivo",
      reasonRefused: "Il server di posta l'ha rifiutata a ogni tentativo.",
      reasonDeferred: "La casella del destinatario ha risposto «riprova più tardi» per 72 ore.",
      reasonFailed: "L'invio non è riuscito per un errore imprevisto a ogni tentativo.",
      reasonOwnAddress: "Il destinatario è l'indirizzo mittente dell'assistenza: non inviata, per evitare un ciclo di email.",
      reasonUnbuildable: "Il messaggio non può essere composto (intestazione non valida).",
      reasonUnknown: "Non recapitata.",
      detail: "Dettaglio: {detail}",
      serverProblem: "Il server di posta non risponde o chiede di riprovare più tardi: tutte le email in coda aspettano e partiranno appena risponde. Dettaglio: {detail}",
      retry: "Riprova",
      retryTo: "Riprova l'invio a {to}",
      retried: "Email a {to} rimessa in coda: partirà a breve.",
      report: "Report FAQ",
      reportTitle: "Report FAQ",
      reportHelp: "Queste domande vengono dagli studenti nella chat: scrivi o migliora le FAQ in faq_data/ (vedi faq_data/README.md).",
      reportPeriod: "Periodo",
      reportDays: "{n} giorni",
      reportWindow: "Dal {since} al {until}.",
      reportPartial: "Il server conserva solo gli eventi più recenti: questo report parte dal {from}.",
      totalQuestions: "Domande fatte",
      totalSolved: "Risolte da una FAQ",
      totalEscalated: "Non risolte (chiesto un operatore)",
      totalNoMatch: "Senza una FAQ adatta",
      unansweredTitle: "Domande senza risposta",
      unansweredIntro: "Domande a cui nessuna FAQ corrispondeva, dalle più frequenti: sono le prossime FAQ da scrivere.",
      unansweredNone: "Nessuna domanda senza risposta in questo periodo.",
      unansweredMore: "Sono mostrate le {shown} più frequenti su {total}.",
      askedQuestion: "Domanda (come l'ha scritta lo studente)",
      times: "Volte",
      lastAsked: "Ultima volta",
      notHelpfulTitle: "FAQ che non hanno aiutato",
      notHelpfulIntro: "FAQ proposte almeno 3 volte, dopo le quali lo studente ha risposto di non aver risolto: rileggi la risposta, o controlla le varianti se la FAQ compare per domande che non c'entrano.",
      notHelpfulNone: "Nessuna FAQ proposta almeno 3 volte è stata respinta in questo periodo.",
      faqQuestion: "FAQ",
      suggestedCount: "Proposta",
      notSolvedCount: "Non risolto",
      notSolvedShare: "% non risolto",
      helpfulTitle: "FAQ che hanno risolto",
      helpfulNone: "Nessuna FAQ ha risolto una domanda in questo periodo.",
      solvedCount: "Risolto",
      faqRemoved: "non esiste più",
      reportTogether: "Quando l'assistente propone più FAQ insieme, la risposta dello studente conta per ciascuna.",
      createdAt: "Creata il",
      close_: "Chiudi",
      sessionNote: "Per sicurezza la sessione scade dopo {n} minuti di inattività.",
      bodyEmpty: "Scrivi il testo del messaggio.",
      usernameRequired: "Inserisci il nome utente.",
      passwordRequired: "Inserisci la password.",
    },
    en: {
      appTitle: "Operator console",
      desk: "Enrolment help desk",
      uni: "University of Perugia",
      skip: "Skip to the ticket",
      loginTitle: "Operator sign-in",
      loginIntro: "Sign in with the user name and password your administrator gave you.",
      username: "User name",
      password: "Password",
      signIn: "Sign in",
      signingIn: "Signing in…",
      signOut: "Sign out",
      expired: "Your session expired after inactivity or was closed: please sign in again.",
      revoked: "Your access was revoked or your password changed: please sign in again.",
      loggedOut: "You have signed out of the console.",
      network: "Could not reach the server: check the network and try again.",
      serverError: "The server did not answer as expected: please try again shortly.",
      langSwitch: "Italiano",
      langSwitchLang: "it",
      online: "Online",
      nobodyOnline: "only you",
      liveOn: "Live updates on",
      liveOff: "Live updates interrupted: reconnecting…",
      sound: "Sound",
      soundOn: "Sound for new messages: on",
      soundOff: "Sound for new messages: off",
      team: "Operators",
      parked: "Undelivered mail",
      queue: "Ticket queue",
      statusFilter: "Status",
      all: "All",
      search: "Search",
      searchLabel: "Search by number, email, name or text",
      searchPlaceholder: "e.g. 000412, rossi@…, ISEE",
      assigned: "Assignment",
      assignedMineFree: "Mine and unassigned",
      assignedMine: "Assigned to me",
      assignedFree: "Unassigned",
      assignedAll: "Everyone's",
      subtopic: "Subject",
      anySubtopic: "All subjects",
      sort: "Order",
      sortOldest: "Oldest first",
      sortNewest: "Newest first",
      sortWaiting: "Idle the longest",
      emptyQueue: "No tickets match these filters.",
      shown: "{shown} of {total}",
      loading: "Loading…",
      unassigned: "Unassigned",
      mine: "Yours",
      needsReply: "Needs a reply",
      newBadge: "New",
      unreadLabel: "new messages",
      ageTitle: "Opened {age} ago, on {date}",
      now: "now",
      min: "{n} min",
      hours: "{n} h",
      days: "{n} d",
      pickTicket: "Choose a ticket from the queue to read and answer it.",
      back: "Back to the queue",
      ticket: "Ticket",
      heldBy: "Handled by",
      nobody: "nobody (unassigned)",
      you: "you",
      take: "Take it",
      takeOver: "Take it over from {name}",
      confirmTakeOver: "{name} is handling this ticket. Take it over? {name} will see the change.",
      transferTo: "Transfer to",
      transfer: "Transfer",
      chooseColleague: "Choose a colleague",
      confirmForce: "{message}\n\nGo ahead anyway?",
      setAwaiting: "Awaiting the student",
      setAwaitingHelp: "You asked the student for information: the ticket waits for their answer.",
      close: "Close ticket",
      reopen: "Reopen",
      statusChanged: "Ticket {number} status: {status}.",
      assignedTo: "Ticket {number} assigned to {name}.",
      assignedToYou: "{by} assigned ticket {number} to you.",
      newTicket: "New ticket {number} from {name}.",
      newMessage: "New message from the student in ticket {number}.",
      viewersWarn: "{names} is also looking at this ticket.",
      viewersWarnMany: "{names} are also looking at this ticket.",
      colleagueTyping: "{name} is writing a reply to the student in this ticket: wait before answering.",
      colleagueNote: "{name} is writing an internal note.",
      heldWarn: "{name} is handling this ticket: take it over to reply or change its status.",
      studentOnline: "The student is online: they will see your reply at once.",
      studentOffline: "The student is not online: they will get your reply by email.",
      studentTyping: "The student is typing…",
      student: "Student",
      studentData: "Student details",
      email: "Email",
      phone: "Mobile",
      topic: "Subject",
      language: "Language",
      langIt: "Italian",
      langEn: "English",
      opened: "Opened on",
      follows: "Follows ticket",
      otherTickets: "This student's other tickets",
      none: "none",
      beforeTicket: "Before the ticket",
      faqRefused: "FAQs the assistant suggested, which did not help:",
      noFaqShown: "The assistant had no fitting FAQ to suggest.",
      noChat: "Ticket opened without the assistant's chat.",
      transcript: "The whole chat with the assistant ({n} messages)",
      bot: "Assistant",
      faqShown: "Suggested FAQ",
      thread: "Conversation",
      internalNote: "Internal note · not shown to the student",
      system: "System",
      attachment: "Attachment",
      download: "Download {name} ({size})",
      history: "Ticket history",
      historyItem: "{status} · {by}",
      byStudent: "student",
      bySystem: "system",
      composer: "Write",
      modeReply: "Reply to the student",
      modeNote: "Internal note",
      replyLabel: "Reply to the student (they will see your name: {name})",
      noteLabel: "Internal note for colleagues (the student does not see it)",
      replyPlaceholder: "Write the reply…",
      notePlaceholder: "Write a note for your colleagues…",
      sendReply: "Send reply",
      saveNote: "Save note",
      sending: "Sending…",
      sendHint: "Ctrl+Enter to send",
      sentLive: "Reply sent: the student received it in the chat.",
      sentMail: "Reply sent: the student will get an email.",
      noteSaved: "Note saved.",
      conflictReload: "The ticket has been updated: your draft is still here.",
      canned: "Ready answers (FAQ)",
      cannedLabel: "Search the FAQ",
      cannedPlaceholder: "e.g. ISEE, second instalment",
      cannedHint: "The FAQs closest to the student's question, in their language:",
      alreadyProposed: "already suggested by the assistant",
      cannedNone: "No FAQ found.",
      insert: "Insert",
      insertLabel: "Insert into the reply: {question}",
      inserted: "FAQ answer inserted into the text: read it through before sending.",
      teamTitle: "Operators",
      teamIntro: "Deactivated accounts can no longer sign in; their sessions end at once.",
      name: "Name students see",
      role: "Role",
      roleOperator: "Operator",
      roleEditor: "FAQ editor",
      roleAdmin: "Admin",
      state: "State",
      active: "Active",
      inactive: "Deactivated",
      isOnline: "online",
      actions: "Actions",
      deactivate: "Deactivate",
      activate: "Reactivate",
      save: "Save",
      newPassword: "New password",
      setPassword: "Change password",
      passwordHint: "At least 10 characters.",
      addOperator: "New operator",
      add: "Create account",
      added: "Account {username} created.",
      updated: "Account {username} updated.",
      parkedTitle: "Undelivered mail",
      parkedIntro: "Notifications that could not be delivered: reach these students another way, or retry once the cause is fixed.",
      parkedNone: "No mail waiting.",
      to: "To",
      subject: "Subject",
      attempts: "Attempts",
      reason: "Reason",
      reasonRefused: "The mail server refused it at every try.",
      reasonDeferred: "The recipient's mailbox answered \"try later\" for 72 hours.",
      reasonFailed: "Sending failed with an unexpected error at every try.",
      reasonOwnAddress: "The recipient is the help desk's own sender address: not sent, to avoid a mail loop.",
      reasonUnbuildable: "The message cannot be built (invalid header).",
      reasonUnknown: "Not delivered.",
      detail: "Detail: {detail}",
      serverProblem: "The mail server is not answering or asks to try later: all queued mail waits and goes out as soon as it answers. Detail: {detail}",
      retry: "Retry",
      retryTo: "Retry sending to {to}",
      retried: "Mail to {to} queued again: it goes out shortly.",
      report: "FAQ report",
      reportTitle: "FAQ report",
      reportHelp: "These questions came from students in the chat: write or improve FAQs in faq_data/ (see faq_data/README.md).",
      reportPeriod: "Period",
      reportDays: "{n} days",
      reportWindow: "From {since} to {until}.",
      reportPartial: "The server keeps only the most recent events: this report starts on {from}.",
      totalQuestions: "Questions asked",
      totalSolved: "Solved by a FAQ",
      totalEscalated: "Not solved (asked for an operator)",
      totalNoMatch: "No fitting FAQ",
      unansweredTitle: "Unanswered questions",
      unansweredIntro: "Questions no FAQ matched, most frequent first: these are the next FAQs to write.",
      unansweredNone: "No unanswered questions in this period.",
      unansweredMore: "Showing the {shown} most frequent of {total}.",
      askedQuestion: "Question (as the student wrote it)",
      times: "Times",
      lastAsked: "Last asked",
      notHelpfulTitle: "FAQs that did not help",
      notHelpfulIntro: "FAQs suggested at least 3 times after which the student said it was not solved: read the answer again, or check the variants if the FAQ shows up for unrelated questions.",
      notHelpfulNone: "No FAQ suggested at least 3 times was turned down in this period.",
      faqQuestion: "FAQ",
      suggestedCount: "Suggested",
      notSolvedCount: "Not solved",
      notSolvedShare: "% not solved",
      helpfulTitle: "FAQs that solved questions",
      helpfulNone: "No FAQ solved a question in this period.",
      solvedCount: "Solved",
      faqRemoved: "no longer exists",
      reportTogether: "When the assistant suggests several FAQs together, the student's answer counts for each of them.",
      createdAt: "Created on",
      close_: "Close",
      sessionNote: "For security the session ends after {n} minutes without activity.",
      bodyEmpty: "Write the text of the message.",
      usernameRequired: "Enter your user name.",
      passwordRequired: "Enter your password.",
    },
  };
  const STATUS = {
    it: { open: "Aperto", awaiting_user: "In attesa di risposta utente", closed: "Chiuso" },
    en: { open: "Open", awaiting_user: "Awaiting the student", closed: "Closed" },
  };
  const STATUS_TABS = { it: { open: "Aperti", awaiting_user: "In attesa", closed: "Chiusi" }, en: { open: "Open", awaiting_user: "Awaiting", closed: "Closed" } };

  const boot = JSON.parse(document.getElementById("console-boot").textContent);
  const lang = boot.lang === "en" ? "en" : "it";
  const locale = lang === "en" ? "en-GB" : "it-IT";
  const root = document.getElementById("console-root");

  function T(key, params) {
    const text = TEXTS[lang][key] ?? TEXTS.it[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
  }

  /* h("button", {class: "x", text: "Hi", onclick: fn, "aria-label": "…"}, child, …): the only
   * way this file makes DOM. Strings become text nodes; null and false are skipped. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked" || k === "disabled" || k === "selected" || k === "hidden") el[k] = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const clear = (el) => { while (el.firstChild) el.removeChild(el.firstChild); return el; };

  const S = {
    me: boot.me,
    socket: null,
    connected: false,
    filters: loadFilters(),
    queue: [],
    counts: {},
    total: 0,
    current: null,
    viewers: [],
    typing: new Map(), // username -> {name, internal}
    studentTyping: false,
    studentOnline: false,
    unread: new Set(),
    fresh: new Set(),
    drafts: new Map(),
    mode: "reply",
    team: [],
    online: [],
    sound: localStorage.getItem("helpdesk-console:sound") === "on",
    typingSent: 0,
    typingTimer: null,
    activeSent: 0,
    queueTimer: null,
    view: "queue",
    reportDays: 30,
  };
  const ui = {};

  function loadFilters() {
    const base = { status: "open", assigned: "me,none", subtopic: "", q: "", sort: "oldest" };
    try {
      const saved = JSON.parse(sessionStorage.getItem("helpdesk-console:filters") || "{}");
      return { ...base, ...saved, q: "" };
    } catch (e) {
      return base;
    }
  }
  function saveFilters() {
    const { status, assigned, subtopic, sort } = S.filters;
    sessionStorage.setItem("helpdesk-console:filters", JSON.stringify({ status, assigned, subtopic, sort }));
  }

  /* ----- formatting ----- */

  const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
  const fmtDate = (iso) => (iso ? dateFmt.format(new Date(iso)) : "");
  function fmtAge(iso) {
    const ms = Date.now() - new Date(iso).getTime();
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return T("now");
    if (minutes < 60) return T("min", { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return T("hours", { n: hours });
    return T("days", { n: Math.floor(hours / 24) });
  }
  function ageClass(ticket) {
    if (ticket.status === "closed") return "c-age";
    const hours = (Date.now() - new Date(ticket.created_at).getTime()) / 3600000;
    return hours >= 24 ? "c-age c-age-late" : hours >= 4 ? "c-age c-age-warn" : "c-age c-age-fresh";
  }
  function fmtSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }
  const statusLabel = (s) => STATUS[lang][s] || s;
  function subtopicLabel(topic, subtopic) {
    const tp = boot.topics.find((x) => x.id === topic);
    const st = tp && tp.subtopics.find((x) => x.id === subtopic);
    return st ? st.label : subtopic;
  }
  const roleLabel = (r) => ({ operator: T("roleOperator"), editor: T("roleEditor"), admin: T("roleAdmin") })[r] || r;
  const holderName = (ticket) => (ticket.operator ? ticket.operator.name : null);
  const isMine = (ticket) => !!(ticket.operator && ticket.operator.username === S.me.username);
  const heldByOther = (ticket) => !!(ticket.operator && ticket.operator.username !== S.me.username);

  /* ----- talking to the server ----- */

  // background: a refresh the page makes by itself, which must not count as the operator's
  // activity (the session's idle clock keeps running).
  async function api(method, path, body, background) {
    const headers = { Accept: "application/json", "Accept-Language": lang };
    if (background) headers["X-Console-Background"] = "1";
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      if (S.me) headers["X-CSRF-Token"] = S.me.csrf_token;
    }
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, error: { code: "network", message: T("network") } };
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    if (response.ok) return { ok: true, status: response.status, data };
    const error = (data && data.error) || { code: "server", message: T("serverError") };
    if (response.status === 401 && S.me && !path.endsWith("/login")) {
      signedOut(T("expired"));
    }
    return { ok: false, status: response.status, error };
  }

  function errorText(error) {
    const fields = error.fields ? Object.values(error.fields) : [];
    return [error.message, ...fields].filter(Boolean).join(" ");
  }

  function announce(text) {
    if (!ui.announce) return;
    ui.announce.textContent = "";
    setTimeout(() => (ui.announce.textContent = text), 50);
  }

  function toast(text, kind) {
    if (!ui.toasts) return;
    const item = h("p", { class: "c-toast" + (kind ? " c-toast-" + kind : ""), text });
    ui.toasts.append(item);
    setTimeout(() => item.remove(), 6000);
  }

  function beep() {
    if (!S.sound) return;
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const ctx = S.audio || (S.audio = new Ctx());
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch (e) {
      /* no audio: the badge and the title still say it */
    }
  }

  function updateTitle() {
    const n = new Set([...S.unread, ...S.fresh]).size;
    document.title = (n ? "(" + n + ") " : "") + T("appTitle") + " · UniPG";
  }

  /* ----- sign-in ----- */

  function renderLogin(message) {
    document.body.className = "signed-out";
    clear(root);
    const user = h("input", { id: "c-user", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
    const pass = h("input", { id: "c-pass", name: "password", type: "password", autocomplete: "current-password", required: true });
    const error = h("p", { class: "c-error", role: "alert" });
    const button = h("button", { type: "submit", class: "c-btn c-primary", text: T("signIn") });
    if (message) error.textContent = message;
    const form = h(
      "form",
      { class: "c-login", novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        error.textContent = "";
        if (!user.value.trim() || !pass.value) {
          error.textContent = T(user.value.trim() ? "passwordRequired" : "usernameRequired");
          (user.value.trim() ? pass : user).focus();
          return;
        }
        button.disabled = true;
        button.textContent = T("signingIn");
        const res = await api("POST", "/api/console/login", { username: user.value, password: pass.value });
        button.disabled = false;
        button.textContent = T("signIn");
        if (!res.ok) {
          error.textContent = errorText(res.error);
          pass.value = "";
          pass.focus();
          return;
        }
        S.me = { username: res.data.username, name: res.data.name, role: res.data.role, csrf_token: res.data.csrf_token };
        startConsole();
      } },
      h("h1", { text: T("loginTitle") }),
      h("p", { class: "c-muted", text: T("loginIntro") }),
      h("label", { for: "c-user", text: T("username") }),
      user,
      h("label", { for: "c-pass", text: T("password") }),
      pass,
      error,
      button,
      h("p", { class: "c-muted c-small", text: T("sessionNote", { n: boot.idle_minutes }) }),
    );
    root.append(
      h("main", { class: "c-login-page" },
        h("p", { class: "c-brand-block" }, h("span", { class: "c-uni", text: T("uni") }), h("span", { class: "c-desk", text: T("desk") + " · " + T("appTitle") })),
        form,
        h("p", {}, h("a", { href: "/console?lang=" + T("langSwitchLang"), lang: T("langSwitchLang"), text: T("langSwitch") })),
      ),
    );
    document.title = T("loginTitle") + " · " + T("appTitle");
    user.focus();
  }

  function signedOut(message) {
    if (!S.me) return;
    S.me = null;
    if (S.socket) {
      S.socket.off();
      S.socket.disconnect();
      S.socket = null;
    }
    S.current = null;
    renderLogin(message);
  }

  async function logout() {
    await api("POST", "/api/console/logout");
    signedOut(T("loggedOut"));
  }

  /* ----- the frame ----- */

  function startConsole() {
    document.body.className = "signed-in";
    clear(root);
    ui.announce = h("div", { class: "c-sr", "aria-live": "polite", role: "status" });
    ui.toasts = h("div", { class: "c-toasts", "aria-live": "polite" });
    ui.live = h("span", { class: "c-live", role: "status" });
    ui.online = h("span", { class: "c-online-list" });
    ui.soundBtn = h("button", { type: "button", class: "c-btn c-ghost", "aria-pressed": String(S.sound), onclick: toggleSound, title: S.sound ? T("soundOn") : T("soundOff") }, T("sound"));
    const adminButtons = S.me.role === "admin"
      ? [h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("team"), text: T("team") }),
         h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("parked"), text: T("parked") })]
      : [];
    // The FAQ report is the editors' (and admins'); the server refuses it to operators too.
    const reportButton = S.me.role === "editor" || S.me.role === "admin"
      ? h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("report"), text: T("report") })
      : null;
    const header = h("header", { class: "c-top" },
      h("a", { class: "c-skip", href: "#c-ticket", text: T("skip") }),
      h("div", { class: "c-brand" }, h("span", { class: "c-uni", text: T("desk") }), h("strong", { text: T("appTitle") })),
      h("div", { class: "c-team-online" }, ui.live, h("span", { class: "c-online-label", text: T("online") + ":" }), ui.online),
      h("nav", { class: "c-actions", "aria-label": T("appTitle") },
        ui.soundBtn,
        reportButton,
        adminButtons,
        h("a", { class: "c-btn c-ghost", href: "/console?lang=" + T("langSwitchLang"), lang: T("langSwitchLang"), text: T("langSwitch") }),
        h("span", { class: "c-me" }, h("strong", { text: S.me.name }), " · ", roleLabel(S.me.role)),
        h("button", { type: "button", class: "c-btn", onclick: logout, text: T("signOut") }),
      ),
    );
    ui.queuePane = h("section", { class: "c-queue", "aria-labelledby": "c-queue-title" });
    ui.ticketPane = h("section", { class: "c-ticket", id: "c-ticket", "aria-label": T("ticket"), tabindex: "-1" });
    ui.adminPane = h("section", { class: "c-admin", hidden: true });
    ui.main = h("main", { class: "c-main" }, ui.queuePane, ui.ticketPane, ui.adminPane);
    root.append(header, ui.main, ui.announce, ui.toasts);
    renderQueuePane();
    renderEmptyTicket();
    setLive(false);
    connect();
    loadQueue();
    loadTeam();
    updateTitle();
  }

  function toggleSound() {
    S.sound = !S.sound;
    localStorage.setItem("helpdesk-console:sound", S.sound ? "on" : "off");
    ui.soundBtn.setAttribute("aria-pressed", String(S.sound));
    ui.soundBtn.title = S.sound ? T("soundOn") : T("soundOff");
    if (S.sound) beep();
    announce(S.sound ? T("soundOn") : T("soundOff"));
  }

  function setLive(on) {
    S.connected = on;
    ui.live.className = "c-live " + (on ? "c-live-on" : "c-live-off");
    ui.live.title = on ? T("liveOn") : T("liveOff");
    ui.live.setAttribute("aria-label", on ? T("liveOn") : T("liveOff"));
  }

  function renderOnline() {
    const others = S.online.filter((o) => o.username !== S.me.username);
    clear(ui.online).append(others.length ? others.map((o) => o.name).join(", ") : T("nobodyOnline"));
  }

  /* ----- the socket ----- */

  function connect() {
    if (typeof io !== "function") {
      setLive(false);
      return;
    }
    const socket = (S.socket = io("/console", {
      path: "/socket.io",
      auth: { csrf_token: S.me.csrf_token, lang },
      reconnectionDelayMax: 10000,
    }));
    socket.on("connect", () => {
      setLive(true);
      if (S.current) socket.emit("open_ticket", { number: S.current.number });
      loadQueue(true);
    });
    socket.on("disconnect", () => setLive(false));
    socket.on("connect_error", async (err) => {
      setLive(false);
      if (err && ["unauthorized", "csrf", "forbidden"].includes(err.message)) {
        // The session is gone (expired, revoked, server restarted): ask for a new login.
        const res = await api("GET", "/api/console/me");
        if (!res.ok && S.me) signedOut(T("expired"));
        else if (res.ok) {
          S.me.csrf_token = res.data.csrf_token;
          socket.auth = { csrf_token: res.data.csrf_token, lang };
          setTimeout(() => socket.connect(), 2000);
        }
      }
    });
    socket.on("session_expired", (p) => signedOut(p && p.reason === "revoked" ? T("revoked") : T("expired")));
    socket.on("presence", (p) => {
      S.online = (p && p.operators) || [];
      renderOnline();
    });
    socket.on("queue", onQueueEvent);
    socket.on("ticket_message", onTicketMessage);
    socket.on("viewers", (p) => {
      if (!S.current || p.number !== S.current.number) return;
      S.viewers = p.operators || [];
      for (const username of [...S.typing.keys()]) {
        if (!S.viewers.some((v) => v.username === username)) S.typing.delete(username);
      }
      renderWarnings();
    });
    socket.on("operator_typing", (p) => {
      if (!S.current || p.number !== S.current.number || p.username === S.me.username) return;
      if (p.typing) S.typing.set(p.username, { name: p.name, internal: !!p.internal });
      else S.typing.delete(p.username);
      renderWarnings();
    });
    socket.on("student_typing", (p) => {
      if (!S.current || p.number !== S.current.number) return;
      S.studentTyping = !!p.typing;
      clearTimeout(S.studentTypingTimer);
      if (S.studentTyping) S.studentTypingTimer = setTimeout(() => { S.studentTyping = false; renderWarnings(); }, 8000);
      renderWarnings();
    });
    socket.on("student_online", (p) => {
      if (!S.current || p.number !== S.current.number) return;
      S.studentOnline = !!p.online;
      renderWarnings();
      renderComposerHint();
    });
    socket.on("error", (p) => p && p.message && toast(p.message, "error"));
  }

  function emit(event, payload) {
    if (S.socket && S.connected) S.socket.emit(event, payload);
  }

  // The idle timeout counts from the operator's last action, not from the last server push.
  function noteActivity() {
    const now = Date.now();
    if (now - S.activeSent > 60000) {
      S.activeSent = now;
      emit("active", {});
    }
  }
  document.addEventListener("keydown", noteActivity, { passive: true });
  document.addEventListener("pointerdown", noteActivity, { passive: true });

  function onQueueEvent(p) {
    const t = p && p.ticket;
    if (!t) return;
    const byMe = p.by === S.me.username;
    if (p.reason === "created") {
      S.fresh.add(t.number);
      beep();
      announce(T("newTicket", { number: t.number, name: t.name }));
    } else if (p.reason === "message" && p.by === "student") {
      if (!S.current || S.current.number !== t.number || document.hidden) {
        S.unread.add(t.number);
        beep();
        announce(T("newMessage", { number: t.number }));
      }
    } else if (p.reason === "assigned" && !byMe && t.operator && t.operator.username === S.me.username) {
      toast(T("assignedToYou", { by: nameOf(p.by), number: t.number }), "info");
      beep();
    }
    updateTitle();
    scheduleQueue();
    if (S.current && S.current.number === t.number && (p.reason === "status" || p.reason === "assigned") && !byMe) {
      reloadTicket(true);
    }
  }

  function nameOf(username) {
    const found = S.team.find((o) => o.username === username) || S.online.find((o) => o.username === username);
    return found ? found.name : username;
  }

  function onTicketMessage(p) {
    if (!S.current || !p || p.number !== S.current.number || !p.message) return;
    if (S.current.messages.some((m) => m.id === p.message.id)) return;
    S.current.messages.push(p.message);
    if (p.message.author === "student") S.studentTyping = false;
    if (p.message.author === "operator") {
      for (const [username, x] of S.typing) if (x.name === p.message.name) S.typing.delete(username);
    }
    appendMessage(p.message, true);
    renderWarnings();
  }

  /* ----- the queue ----- */

  function renderQueuePane() {
    const f = S.filters;
    const tabs = h("div", { class: "c-tabs", role: "group", "aria-label": T("statusFilter") });
    ui.tabs = tabs;
    for (const status of [...boot.statuses, ""]) {
      tabs.append(
        h("button", {
          type: "button",
          class: "c-tab",
          "data-status": status,
          "aria-pressed": String(f.status === status),
          onclick: () => {
            S.filters.status = status;
            saveFilters();
            for (const b of tabs.children) b.setAttribute("aria-pressed", String(b.dataset.status === status));
            loadQueue();
          },
        }, h("span", { text: status ? STATUS_TABS[lang][status] : T("all") }), h("span", { class: "c-count", "data-count": status })),
      );
    }
    ui.search = h("input", { id: "c-search", type: "search", placeholder: T("searchPlaceholder"), value: f.q, autocomplete: "off" });
    let searchTimer = null;
    ui.search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { S.filters.q = ui.search.value.trim(); loadQueue(); }, 250);
    });
    const assigned = h("select", { id: "c-assigned", onchange: (ev) => { S.filters.assigned = ev.target.value; saveFilters(); loadQueue(); } },
      [["me,none", T("assignedMineFree")], ["me", T("assignedMine")], ["none", T("assignedFree")], ["all", T("assignedAll")]].map(
        ([v, label]) => h("option", { value: v, selected: f.assigned === v, text: label })));
    const subtopic = h("select", { id: "c-subtopic", onchange: (ev) => { S.filters.subtopic = ev.target.value; saveFilters(); loadQueue(); } },
      h("option", { value: "", text: T("anySubtopic") }),
      boot.topics.map((tp) => h("optgroup", { label: tp.label },
        tp.subtopics.map((st) => h("option", { value: tp.id + "/" + st.id, selected: f.subtopic === tp.id + "/" + st.id, text: st.label })))));
    const sort = h("select", { id: "c-sort", onchange: (ev) => { S.filters.sort = ev.target.value; saveFilters(); loadQueue(); } },
      [["oldest", T("sortOldest")], ["newest", T("sortNewest")], ["waiting", T("sortWaiting")]].map(
        ([v, label]) => h("option", { value: v, selected: f.sort === v, text: label })));
    ui.list = h("ul", { class: "c-list", "aria-busy": "true" });
    ui.queueInfo = h("p", { class: "c-muted c-small", role: "status" });
    clear(ui.queuePane).append(
      h("h2", { id: "c-queue-title", class: "c-sr", text: T("queue") }),
      tabs,
      h("form", { class: "c-filters", role: "search", onsubmit: (ev) => { ev.preventDefault(); S.filters.q = ui.search.value.trim(); loadQueue(); } },
        h("label", { for: "c-search", class: "c-label", text: T("searchLabel") }),
        ui.search,
        h("div", { class: "c-filter-row" },
          h("label", { class: "c-field" }, h("span", { class: "c-label", text: T("assigned") }), assigned),
          h("label", { class: "c-field" }, h("span", { class: "c-label", text: T("sort") }), sort),
          h("label", { class: "c-field c-field-wide" }, h("span", { class: "c-label", text: T("subtopic") }), subtopic),
        ),
      ),
      ui.queueInfo,
      ui.list,
    );
  }

  function scheduleQueue() {
    clearTimeout(S.queueTimer);
    S.queueTimer = setTimeout(() => loadQueue(true), 300);
  }

  async function loadQueue(background) {
    if (!S.me || !ui.list) return;
    const f = S.filters;
    const params = new URLSearchParams({ assigned: f.assigned, sort: f.sort });
    if (f.status) params.set("status", f.status);
    if (f.q) params.set("q", f.q);
    if (f.subtopic) {
      const [topic, subtopic] = f.subtopic.split("/");
      params.set("topic", topic);
      params.set("subtopic", subtopic);
    }
    if (f.q && f.sort === "oldest") params.set("sort", "newest");
    const res = await api("GET", "/api/console/tickets?" + params.toString(), undefined, background === true);
    if (!res.ok) {
      if (res.status !== 401) ui.queueInfo.textContent = errorText(res.error);
      return;
    }
    S.queue = res.data.tickets;
    S.counts = res.data.counts;
    S.total = res.data.total;
    renderQueue();
  }

  function renderQueue() {
    for (const el of ui.tabs.querySelectorAll("[data-count]")) {
      const status = el.dataset.count;
      const n = status ? S.counts[status] || 0 : Object.values(S.counts).reduce((a, b) => a + b, 0);
      el.textContent = String(n);
    }
    ui.list.setAttribute("aria-busy", "false");
    clear(ui.list);
    ui.queueInfo.textContent = S.queue.length < S.total ? T("shown", { shown: S.queue.length, total: S.total }) : "";
    if (!S.queue.length) {
      ui.list.append(h("li", { class: "c-empty", text: T("emptyQueue") }));
      return;
    }
    for (const t of S.queue) ui.list.append(queueItem(t));
  }

  function queueItem(t) {
    const selected = S.current && S.current.number === t.number;
    const unread = S.unread.has(t.number);
    const fresh = S.fresh.has(t.number);
    const waiting = t.status !== "closed" && (t.last_author === "student" || t.last_author === null);
    const holder = t.operator ? (isMine(t) ? T("mine") : t.operator.name) : T("unassigned");
    return h("li", {},
      h("button", {
        type: "button",
        class: "c-item" + (selected ? " c-item-current" : "") + (unread ? " c-item-unread" : ""),
        "aria-current": selected ? "true" : null,
        onclick: () => openTicket(t.number),
      },
        h("span", { class: "c-item-top" },
          h("span", { class: "c-num", text: t.number }),
          fresh ? h("span", { class: "c-badge c-badge-new", text: T("newBadge") }) : null,
          unread ? h("span", { class: "c-dot", title: T("unreadLabel") }, h("span", { class: "c-sr", text: T("unreadLabel") })) : null,
          h("span", { class: ageClass(t), title: T("ageTitle", { age: fmtAge(t.created_at), date: fmtDate(t.created_at) }), text: fmtAge(t.created_at) }),
        ),
        h("span", { class: "c-item-name", text: t.name }),
        h("span", { class: "c-item-meta" },
          h("span", { text: subtopicLabel(t.topic, t.subtopic) }),
          h("span", { class: "c-status c-status-" + t.status, text: statusLabel(t.status) }),
        ),
        h("span", { class: "c-item-meta" },
          h("span", { class: t.operator ? (isMine(t) ? "c-holder c-holder-me" : "c-holder") : "c-holder c-holder-none", text: holder }),
          waiting ? h("span", { class: "c-needs", text: T("needsReply") }) : null,
        ),
      ),
    );
  }

  setInterval(() => {
    if (S.me && ui.list && S.view === "queue") renderQueue();
  }, 60000);

  /* ----- one ticket ----- */

  function renderEmptyTicket() {
    ui.main.classList.remove("c-has-ticket");
    clear(ui.ticketPane).append(h("p", { class: "c-placeholder", text: T("pickTicket") }));
  }

  async function openTicket(number) {
    if (S.current && S.current.number !== number) leaveTicket();
    const res = await api("GET", "/api/console/tickets/" + encodeURIComponent(number));
    if (!res.ok) {
      toast(errorText(res.error), "error");
      return;
    }
    S.unread.delete(number);
    S.fresh.delete(number);
    updateTitle();
    S.current = res.data;
    S.viewers = res.data.viewers || [];
    S.studentOnline = !!res.data.student_online;
    S.studentTyping = false;
    S.typing.clear();
    S.mode = (S.drafts.get(number) || {}).mode || "reply";
    showView("queue");
    renderTicket();
    renderQueue();
    emit("open_ticket", { number });
    ui.main.classList.add("c-has-ticket");
    ui.ticketTitle.focus();
  }

  function leaveTicket() {
    if (!S.current) return;
    saveDraft();
    stopTyping();
    emit("close_ticket", { number: S.current.number });
    S.current = null;
  }

  async function reloadTicket(background) {
    if (!S.current) return;
    const res = await api("GET", "/api/console/tickets/" + S.current.number, undefined, background === true);
    if (!res.ok) return;
    S.current = res.data;
    S.studentOnline = !!res.data.student_online;
    renderHeader();
    renderThread();
    renderAside();
    renderWarnings();
    renderComposerMode();
  }

  function renderTicket() {
    ui.header = h("div", { class: "c-t-header" });
    ui.warnings = h("div", { class: "c-warnings", role: "status", "aria-live": "polite" });
    ui.thread = h("ol", { class: "c-thread", "aria-label": T("thread") });
    ui.aside = h("aside", { class: "c-aside" });
    ui.composer = h("div", { class: "c-composer" });
    clear(ui.ticketPane).append(
      h("button", { type: "button", class: "c-btn c-ghost c-back", onclick: backToQueue, text: "← " + T("back") }),
      ui.header,
      ui.warnings,
      h("div", { class: "c-t-body" },
        h("div", { class: "c-t-main" }, ui.thread, ui.composer),
        ui.aside,
      ),
    );
    renderHeader();
    renderWarnings();
    renderThread();
    renderComposer();
    renderAside();
  }

  function backToQueue() {
    leaveTicket();
    renderEmptyTicket();
    renderQueue();
    const first = ui.list.querySelector("button");
    if (first) first.focus();
  }

  function renderHeader() {
    const t = S.current;
    ui.ticketTitle = h("h2", { tabindex: "-1", class: "c-t-title" },
      h("span", { class: "c-num", text: T("ticket") + " " + t.number }), " ", h("span", { text: t.name }));
    const holder = t.operator
      ? (isMine(t) ? T("you") + " (" + t.operator.name + ")" : t.operator.name)
      : T("nobody");
    const take = isMine(t) ? null : h("button", {
      type: "button",
      class: "c-btn" + (t.operator ? "" : " c-primary"),
      onclick: () => assign(""),
      text: t.operator ? T("takeOver", { name: t.operator.name }) : T("take"),
    });
    const colleagues = S.team.filter((o) => o.active && o.username !== S.me.username && o.username !== (t.operator && t.operator.username));
    const online = new Set(S.online.map((o) => o.username));
    const select = h("select", { id: "c-transfer" },
      h("option", { value: "", text: T("chooseColleague") }),
      colleagues.map((o) => h("option", { value: o.username, text: o.name + (online.has(o.username) ? " · " + T("isOnline") : "") })));
    const transfer = h("form", { class: "c-transfer", onsubmit: (ev) => { ev.preventDefault(); if (select.value) assign(select.value); } },
      h("label", { for: "c-transfer", class: "c-label", text: T("transferTo") }), select,
      h("button", { type: "submit", class: "c-btn", text: T("transfer") }));
    const statusButtons = [];
    if (t.status !== "awaiting_user" && t.status !== "closed") {
      statusButtons.push(h("button", { type: "button", class: "c-btn", title: T("setAwaitingHelp"), onclick: () => setStatus("awaiting_user"), text: T("setAwaiting") }));
    }
    if (t.status !== "closed") statusButtons.push(h("button", { type: "button", class: "c-btn", onclick: () => setStatus("closed"), text: T("close") }));
    else statusButtons.push(h("button", { type: "button", class: "c-btn", onclick: () => setStatus("open"), text: T("reopen") }));
    clear(ui.header).append(
      h("div", { class: "c-t-titlebar" },
        ui.ticketTitle,
        h("span", { class: "c-status c-status-" + t.status, text: statusLabel(t.status) }),
        h("span", { class: "c-status-actions" }, statusButtons),
      ),
      h("p", { class: "c-t-sub" },
        h("span", { text: t.topic_label + " › " + t.subtopic_label }), " · ",
        h("span", { title: fmtDate(t.created_at), text: T("opened") + " " + fmtDate(t.created_at) }),
      ),
      h("div", { class: "c-t-actions" },
        h("p", { class: "c-holder-line" }, h("span", { class: "c-label", text: T("heldBy") + ": " }), h("strong", { text: holder })),
        take,
        transfer,
      ),
    );
  }

  function renderWarnings() {
    if (!S.current || !ui.warnings) return;
    const t = S.current;
    const items = [];
    const others = S.viewers.filter((v) => v.username !== S.me.username);
    const typingReply = [...S.typing.values()].filter((x) => !x.internal);
    const typingNote = [...S.typing.values()].filter((x) => x.internal);
    for (const x of typingReply) items.push(h("p", { class: "c-warn c-warn-strong", text: T("colleagueTyping", { name: x.name }) }));
    for (const x of typingNote) items.push(h("p", { class: "c-warn", text: T("colleagueNote", { name: x.name }) }));
    if (others.length && !typingReply.length) {
      const names = others.map((o) => o.name).join(", ");
      items.push(h("p", { class: "c-warn", text: T(others.length > 1 ? "viewersWarnMany" : "viewersWarn", { names }) }));
    }
    // Why the send button is off; the button to take it over is in the header.
    if (heldByOther(t)) items.push(h("p", { class: "c-warn", text: T("heldWarn", { name: t.operator.name }) }));
    if (S.studentTyping) items.push(h("p", { class: "c-info c-typing", text: T("studentTyping") }));
    const atEnd = threadAtEnd();
    clear(ui.warnings).append(...items);
    if (atEnd) scrollThreadToEnd();
    renderComposerHint();
  }

  function messageItem(m) {
    const cls = m.internal ? "c-msg c-msg-note" : "c-msg c-msg-" + m.author;
    const who = m.author === "student" ? T("student") + " · " + m.name
      : m.author === "operator" ? m.name
      : T("system");
    return h("li", { class: cls, "data-id": m.id },
      h("p", { class: "c-msg-head" },
        h("strong", { text: who }),
        m.internal ? h("span", { class: "c-note-tag", text: T("internalNote") }) : null,
        h("time", { datetime: m.at, text: fmtDate(m.at) })),
      h("p", { class: "c-msg-body", text: m.body }),
      (m.attachments || []).length
        ? h("ul", { class: "c-attachments" }, m.attachments.map((a) => h("li", {},
          h("a", {
            href: "/api/tickets/" + S.current.number + "/attachments/" + encodeURIComponent(a.id),
            download: a.filename,
            text: T("attachment") + ": " + a.filename + " (" + fmtSize(a.size) + ")",
            "aria-label": T("download", { name: a.filename, size: fmtSize(a.size) }),
          }))))
        : null,
    );
  }

  function renderThread() {
    clear(ui.thread);
    for (const m of S.current.messages) ui.thread.append(messageItem(m));
    scrollThreadToEnd();
  }

  const threadAtEnd = () => !ui.thread || ui.thread.scrollHeight - ui.thread.scrollTop - ui.thread.clientHeight < 120;
  // After layout: the composer and the warnings change the thread's height once they render.
  function scrollThreadToEnd() {
    requestAnimationFrame(() => {
      if (!ui.thread) return;
      ui.thread.scrollTop = ui.thread.scrollHeight;
    });
  }

  function appendMessage(m) {
    const nearBottom = threadAtEnd();
    ui.thread.append(messageItem(m));
    if (nearBottom) scrollThreadToEnd();
  }

  /* the composer: reply or internal note */

  function renderComposer() {
    const number = S.current.number;
    const draft = S.drafts.get(number) || { reply: "", note: "" };
    ui.modeReply = h("button", { type: "button", class: "c-mode", onclick: () => setMode("reply"), text: T("modeReply") });
    ui.modeNote = h("button", { type: "button", class: "c-mode c-mode-note", onclick: () => setMode("note"), text: T("modeNote") });
    ui.textLabel = h("label", { for: "c-text", class: "c-label" });
    ui.text = h("textarea", { id: "c-text", rows: "6", value: draft[S.mode] || "" });
    ui.text.addEventListener("input", onTextInput);
    ui.text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        send();
      }
    });
    ui.sendBtn = h("button", { type: "submit", class: "c-btn c-primary" });
    ui.sendError = h("p", { class: "c-error", role: "alert" });
    ui.composerHint = h("p", { class: "c-hint" });
    clear(ui.composer).append(
      h("h3", { class: "c-sr", text: T("composer") }),
      h("div", { class: "c-modes", role: "group", "aria-label": T("composer") }, ui.modeReply, ui.modeNote),
      h("form", { class: "c-compose-form", onsubmit: (ev) => { ev.preventDefault(); send(); } },
        ui.textLabel, ui.text, ui.sendError,
        h("div", { class: "c-compose-bar" }, ui.composerHint, h("span", { class: "c-muted c-small", text: T("sendHint") }), ui.sendBtn)),
    );
    renderComposerMode();
  }

  function renderComposerMode() {
    if (!ui.text) return;
    const note = S.mode === "note";
    ui.modeReply.setAttribute("aria-pressed", String(!note));
    ui.modeNote.setAttribute("aria-pressed", String(note));
    ui.composer.classList.toggle("c-composer-note", note);
    ui.textLabel.textContent = note ? T("noteLabel") : T("replyLabel", { name: S.me.name });
    ui.text.placeholder = note ? T("notePlaceholder") : T("replyPlaceholder");
    ui.sendBtn.textContent = note ? T("saveNote") : T("sendReply");
    renderComposerHint();
  }

  function renderComposerHint() {
    if (!ui.composerHint || !S.current) return;
    const note = S.mode === "note";
    ui.composerHint.className = "c-hint" + (note ? "" : S.studentOnline ? " c-hint-live" : "");
    ui.composerHint.textContent = note ? "" : S.studentOnline ? T("studentOnline") : T("studentOffline");
    const blocked = !note && heldByOther(S.current);
    ui.sendBtn.disabled = blocked || S.sending;
    ui.text.disabled = false;
  }

  function setMode(mode) {
    if (mode === S.mode) return;
    saveDraft();
    stopTyping();
    S.mode = mode;
    const draft = S.drafts.get(S.current.number) || {};
    ui.text.value = draft[mode] || "";
    renderComposerMode();
    ui.text.focus();
  }

  function saveDraft() {
    if (!S.current || !ui.text) return;
    const d = S.drafts.get(S.current.number) || { reply: "", note: "" };
    d[S.mode] = ui.text.value;
    d.mode = S.mode;
    S.drafts.set(S.current.number, d);
  }

  function onTextInput() {
    if (!S.current) return;
    const now = Date.now();
    if (ui.text.value.trim() && now - S.typingSent > 3000) {
      S.typingSent = now;
      emit("operator_typing", { number: S.current.number, typing: true, internal: S.mode === "note" });
    }
    clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(stopTyping, 5000);
  }

  function stopTyping() {
    clearTimeout(S.typingTimer);
    if (S.typingSent && S.current) emit("operator_typing", { number: S.current.number, typing: false, internal: S.mode === "note" });
    S.typingSent = 0;
  }

  async function send() {
    const t = S.current;
    if (!t || S.sending) return;
    const body = ui.text.value.trim();
    ui.sendError.textContent = "";
    if (!body) {
      ui.sendError.textContent = T("bodyEmpty");
      ui.text.focus();
      return;
    }
    const internal = S.mode === "note";
    const last = t.messages.length ? t.messages[t.messages.length - 1].id : null;
    S.sending = true;
    ui.sendBtn.disabled = true;
    ui.sendBtn.textContent = T("sending");
    const res = await api("POST", "/api/console/tickets/" + t.number + "/messages", { body, internal, after: last });
    S.sending = false;
    renderComposerMode();
    if (S.current !== t) return;
    if (!res.ok) {
      ui.sendError.textContent = errorText(res.error);
      if (res.status === 409) {
        await reloadTicket();
        toast(T("conflictReload"), "info");
      }
      return;
    }
    stopTyping();
    ui.text.value = "";
    saveDraft();
    if (!t.messages.some((m) => m.id === res.data.message.id)) {
      t.messages.push(res.data.message);
      appendMessage(res.data.message);
    }
    toast(internal ? T("noteSaved") : res.data.mailed ? T("sentMail") : T("sentLive"), "ok");
    if (!internal && !t.operator) reloadTicket();
    ui.text.focus();
  }

  /* take, transfer, status */

  async function withForce(call) {
    let res = await call(false);
    if (!res.ok && res.status === 409 && res.error.code === "held_by_other") {
      if (!window.confirm(T("confirmForce", { message: res.error.message }))) return null;
      res = await call(true);
    }
    if (!res.ok) {
      toast(errorText(res.error), "error");
      return null;
    }
    return res;
  }

  async function assign(username) {
    const t = S.current;
    if (!t) return;
    if (username === "" && heldByOther(t) && !window.confirm(T("confirmTakeOver", { name: t.operator.name }))) return;
    const force = username === "" && heldByOther(t);
    const res = await withForce((again) => api("POST", "/api/console/tickets/" + t.number + "/assign", { username, force: force || again }));
    if (!res) return;
    announce(T("assignedTo", { number: t.number, name: res.data.ticket.operator ? res.data.ticket.operator.name : "" }));
    await reloadTicket();
    scheduleQueue();
  }

  async function setStatus(status) {
    const t = S.current;
    if (!t) return;
    const res = await withForce((force) => api("POST", "/api/console/tickets/" + t.number + "/status", { status, force }));
    if (!res) return;
    announce(T("statusChanged", { number: t.number, status: statusLabel(status) }));
    await reloadTicket();
    scheduleQueue();
  }

  /* the side column: student, chat before the ticket, canned answers, history */

  function renderAside() {
    const t = S.current;
    const dl = h("dl", { class: "c-facts" },
      h("dt", { text: T("email") }), h("dd", {}, h("span", { class: "c-copyable", text: t.email })),
      h("dt", { text: T("phone") }), h("dd", {}, h("a", { href: "tel:" + t.phone, text: t.phone })),
      h("dt", { text: T("topic") }), h("dd", { text: t.topic_label + " › " + t.subtopic_label }),
      h("dt", { text: T("language") }), h("dd", { text: t.lang === "en" ? T("langEn") : T("langIt") }),
      h("dt", { text: T("opened") }), h("dd", { text: fmtDate(t.created_at) }),
      t.references ? [h("dt", { text: T("follows") }), h("dd", {}, ticketLink(t.references))] : null,
      h("dt", { text: T("otherTickets") }),
      h("dd", {}, t.other_tickets.length
        ? h("ul", { class: "c-inline-list" }, t.other_tickets.map((o) => h("li", {}, ticketLink(o.number), " ", h("span", { class: "c-muted", text: statusLabel(o.status) }))))
        : T("none")),
    );
    ui.cannedInput = h("input", { id: "c-canned", type: "search", placeholder: T("cannedPlaceholder"), autocomplete: "off" });
    ui.cannedList = h("ul", { class: "c-canned-list" });
    let timer = null;
    ui.cannedInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadCanned, 250); });
    clear(ui.aside).append(
      h("section", { class: "c-card" }, h("h3", { text: T("studentData") }), dl),
      h("section", { class: "c-card" }, h("h3", { text: T("beforeTicket") }), chatBefore(t)),
      h("section", { class: "c-card" },
        h("h3", {}, h("label", { for: "c-canned", text: T("canned") })),
        ui.cannedInput, ui.cannedList),
      h("section", { class: "c-card" }, h("h3", { text: T("history") }),
        h("ol", { class: "c-history" }, t.history.map((x) => h("li", {},
          h("span", { text: T("historyItem", { status: statusLabel(x.status), by: x.by === "student" ? T("byStudent") : x.by === "system" ? T("bySystem") : x.by_name || x.by }) }),
          " ", h("time", { class: "c-muted", datetime: x.at, text: fmtDate(x.at) }))))),
    );
    loadCanned();
  }

  function ticketLink(number) {
    return h("button", { type: "button", class: "c-linklike", onclick: () => openTicket(number), text: "#" + number });
  }

  function chatBefore(t) {
    const c = t.conversation;
    if (!c) return h("p", { class: "c-muted", text: T("noChat") });
    const faqs = c.faqs || [];
    return h("div", {},
      faqs.length
        ? [h("p", { text: T("faqRefused") }), h("ul", { class: "c-faq-refused" }, faqs.map((f) => h("li", { text: f.question })))]
        : h("p", { class: "c-muted", text: T("noFaqShown") }),
      h("details", { class: "c-transcript" },
        h("summary", { text: T("transcript", { n: c.transcript.length }) }),
        h("ol", {}, c.transcript.map((e) => h("li", { class: "c-tr c-tr-" + e.from },
          h("strong", { text: (e.from === "student" ? T("student") : T("bot")) + ": " }),
          e.kind === "faq" ? h("em", { text: T("faqShown") + ": " }) : null,
          e.text)))),
    );
  }

  async function loadCanned() {
    const t = S.current;
    if (!t) return;
    const params = new URLSearchParams({ lang: t.lang, topic: t.topic, subtopic: t.subtopic });
    const typed = ui.cannedInput.value.trim();
    // Before the operator types anything: the FAQs closest to what the student asked.
    const first = t.messages.find((m) => m.author === "student");
    const q = typed || (first ? first.body.slice(0, 300) : "");
    if (q) params.set("q", q);
    const res = await api("GET", "/api/console/faq?" + params.toString());
    if (!res.ok || S.current !== t) return;
    const proposed = new Set(((t.conversation && t.conversation.faqs) || []).map((f) => f.id));
    clear(ui.cannedList);
    if (!typed && res.data.faqs.length) ui.cannedList.append(h("li", { class: "c-muted c-small", text: T("cannedHint") }));
    if (!res.data.faqs.length) ui.cannedList.append(h("li", { class: "c-muted", text: T("cannedNone") }));
    for (const f of res.data.faqs) {
      ui.cannedList.append(h("li", { class: "c-canned" },
        h("details", {},
          h("summary", {}, f.question, proposed.has(f.id) ? h("span", { class: "c-tag", text: T("alreadyProposed") }) : null),
          h("p", { class: "c-canned-answer", text: f.answer })),
        h("button", { type: "button", class: "c-btn c-small-btn", "aria-label": T("insertLabel", { question: f.question }), onclick: () => insertAnswer(f), text: T("insert") })));
    }
  }

  function insertAnswer(f) {
    if (S.mode !== "reply") setMode("reply");
    const links = (f.links || []).map((l) => l.label + ": " + l.url);
    const text = [f.answer, ...links].join("\n");
    const el = ui.text;
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? el.value.length;
    const before = el.value.slice(0, start);
    const sep = before && !before.endsWith("\n") ? "\n\n" : "";
    el.value = before + sep + text + el.value.slice(end);
    el.focus();
    const caret = (before + sep + text).length;
    el.setSelectionRange(caret, caret);
    onTextInput();
    announce(T("inserted"));
  }

  /* ----- the team (everyone: transfer targets; admins: accounts and parked mail) ----- */

  async function loadTeam() {
    const res = await api("GET", "/api/console/operators");
    if (res.ok) S.team = res.data.operators;
  }

  function showView(view) {
    S.view = view;
    const admin = view !== "queue";
    ui.adminPane.hidden = !admin;
    ui.queuePane.hidden = admin;
    ui.ticketPane.hidden = admin;
  }

  async function showAdmin(which) {
    if (S.current) {
      leaveTicket();
      renderEmptyTicket();
    }
    showView(which);
    const close = h("button", { type: "button", class: "c-btn c-ghost", onclick: () => { showView("queue"); renderQueue(); }, text: "← " + T("back") });
    const box = h("div", { class: "c-admin-body" });
    clear(ui.adminPane).append(close, box);
    if (which === "team") await renderTeam(box);
    else if (which === "report") await renderReport(box);
    else await renderParked(box);
  }

  async function renderTeam(box) {
    await loadTeam();
    const status = h("p", { role: "status", class: "c-ok" });
    const rows = S.team.map((o) => {
      const role = h("select", { "aria-label": T("role") + " · " + o.username },
        ["operator", "editor", "admin"].map((r) => h("option", { value: r, selected: o.role === r, text: roleLabel(r) })));
      const name = h("input", { value: o.name, "aria-label": T("name") + " · " + o.username });
      const pw = h("input", { type: "password", autocomplete: "new-password", placeholder: T("newPassword"), "aria-label": T("newPassword") + " · " + o.username });
      const error = h("p", { class: "c-error", role: "alert" });
      const update = async (changes) => {
        error.textContent = "";
        const res = await api("POST", "/api/console/operators/" + encodeURIComponent(o.username), changes);
        if (!res.ok) {
          error.textContent = errorText(res.error);
          return;
        }
        status.textContent = T("updated", { username: o.username });
        renderTeam(box);
      };
      return h("tr", { class: o.active ? "" : "c-inactive" },
        h("th", { scope: "row" }, h("span", { text: o.username }), o.online ? h("span", { class: "c-online-dot", title: T("isOnline") }, h("span", { class: "c-sr", text: T("isOnline") })) : null),
        h("td", {}, name),
        h("td", {}, role),
        h("td", { text: o.active ? T("active") : T("inactive") }),
        h("td", { class: "c-row-actions" },
          h("button", { type: "button", class: "c-btn", onclick: () => update({ name: name.value, role: role.value }), text: T("save") }),
          // An admin cannot lock themselves out (the server says so too): no button for it.
          o.username === S.me.username ? null
            : h("button", { type: "button", class: "c-btn", onclick: () => update({ active: !o.active }), text: o.active ? T("deactivate") : T("activate") }),
          h("span", { class: "c-pw" }, pw, h("button", { type: "button", class: "c-btn", onclick: () => pw.value && update({ password: pw.value }), text: T("setPassword") })),
          error),
      );
    });
    const nu = {
      username: h("input", { id: "n-user", autocomplete: "off", autocapitalize: "none", required: true }),
      name: h("input", { id: "n-name", required: true }),
      role: h("select", { id: "n-role" }, ["operator", "editor", "admin"].map((r) => h("option", { value: r, text: roleLabel(r) }))),
      password: h("input", { id: "n-pass", type: "password", autocomplete: "new-password", required: true }),
    };
    const addError = h("p", { class: "c-error", role: "alert" });
    const addForm = h("form", { class: "c-add", novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      addError.textContent = "";
      const res = await api("POST", "/api/console/operators", {
        username: nu.username.value, name: nu.name.value, role: nu.role.value, password: nu.password.value,
      });
      if (!res.ok) {
        addError.textContent = errorText(res.error);
        return;
      }
      status.textContent = T("added", { username: res.data.operator.username });
      renderTeam(box);
    } },
      h("h3", { text: T("addOperator") }),
      h("div", { class: "c-add-grid" },
        h("label", { for: "n-user", text: T("username") }), nu.username,
        h("label", { for: "n-name", text: T("name") }), nu.name,
        h("label", { for: "n-role", text: T("role") }), nu.role,
        h("label", { for: "n-pass", text: T("password") }), h("span", {}, nu.password, h("span", { class: "c-muted c-small", text: " " + T("passwordHint") }))),
      addError,
      h("button", { type: "submit", class: "c-btn c-primary", text: T("add") }),
    );
    clear(box).append(
      h("h2", { text: T("teamTitle") }),
      h("p", { class: "c-muted", text: T("teamIntro") }),
      status,
      h("div", { class: "c-table-wrap" }, h("table", { class: "c-table" },
        h("thead", {}, h("tr", {}, [T("username"), T("name"), T("role"), T("state"), T("actions")].map((x) => h("th", { scope: "col", text: x })))),
        h("tbody", {}, rows))),
      addForm,
    );
  }

  // The server stores why a mail was parked as a code; the admin reads it in their language,
  // with the server's own answer (English, technical) as the detail.
  const PARK_REASONS = { refused: "reasonRefused", failed: "reasonFailed", own_address: "reasonOwnAddress", unbuildable: "reasonUnbuildable", deferred: "reasonDeferred" };
  const parkReason = (m) => T(PARK_REASONS[m.reason] || "reasonUnknown");

  async function renderParked(box, notice) {
    const res = await api("GET", "/api/console/mail/parked");
    const status = h("p", { role: "status", class: "c-ok" });
    clear(box).append(h("h2", { text: T("parkedTitle") }), h("p", { class: "c-muted", text: T("parkedIntro") }), status);
    if (notice) status.textContent = notice; // once on the page, so that it is announced
    if (!res.ok) {
      box.append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
      return;
    }
    if (res.data.server_problem) {
      box.append(h("p", { class: "c-warn", text: T("serverProblem", { detail: res.data.server_problem }) }));
    }
    if (!res.data.mail.length) {
      box.append(h("p", { text: T("parkedNone") }));
      return;
    }
    const rows = res.data.mail.map((m) => {
      const error = h("p", { class: "c-error", role: "alert" });
      const retry = h("button", { type: "button", class: "c-btn", "aria-label": T("retryTo", { to: m.to }), text: T("retry"), onclick: async () => {
        retry.disabled = true;
        error.textContent = "";
        const done = await api("POST", "/api/console/mail/parked/" + encodeURIComponent(m.number) + "/" + encodeURIComponent(m.id) + "/retry", {});
        if (!done.ok) {
          retry.disabled = false;
          error.textContent = errorText(done.error);
          return;
        }
        await renderParked(box, T("retried", { to: m.to }));
      } });
      return h("tr", {},
        h("td", {}, h("button", { type: "button", class: "c-linklike", onclick: () => { showView("queue"); openTicket(m.number); }, text: "#" + m.number })),
        h("td", { text: m.to }), h("td", { text: m.subject }), h("td", { text: String(m.attempts) }),
        h("td", {}, h("span", { text: parkReason(m) }),
          m.last_error ? h("span", { class: "c-muted c-small" }, h("br", {}), T("detail", { detail: m.last_error })) : null),
        h("td", { text: fmtDate(m.created_at) }),
        h("td", {}, h("div", { class: "c-row-actions" }, retry), error));
    });
    box.append(h("div", { class: "c-table-wrap" }, h("table", { class: "c-table" },
      h("thead", {}, h("tr", {}, [T("ticket"), T("to"), T("subject"), T("attempts"), T("reason"), T("createdAt"), T("actions")].map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, rows))));
  }

  /* ----- the editors' FAQ report ----- */

  const REPORT_PERIODS = [7, 30, 90];
  const pctFmt = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const dayFmt = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
  const fmtDay = (iso) => dayFmt.format(new Date(iso));

  function renderReport(box) {
    const body = h("div", { class: "c-report" });
    const periods = REPORT_PERIODS.map((n) => h("button", {
      type: "button", class: "c-btn", "aria-pressed": String(n === S.reportDays), text: T("reportDays", { n }),
      onclick: () => {
        S.reportDays = n;
        for (const [i, b] of periods.entries()) b.setAttribute("aria-pressed", String(REPORT_PERIODS[i] === n));
        loadReport(body);
      },
    }));
    clear(box).append(
      h("h2", { text: T("reportTitle") }),
      h("p", { class: "c-muted", text: T("reportHelp") }),
      h("div", { class: "c-period", role: "group", "aria-label": T("reportPeriod") },
        h("span", { class: "c-label", "aria-hidden": "true", text: T("reportPeriod") }), periods),
      body,
    );
    return loadReport(body);
  }

  async function loadReport(body) {
    const days = S.reportDays;
    clear(body).append(h("p", { class: "c-muted", role: "status", text: T("loading") }));
    const res = await api("GET", "/api/console/faq-report?days=" + days);
    if (days !== S.reportDays) return; // another period was chosen meanwhile
    if (!res.ok) {
      clear(body).append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
      return;
    }
    const r = res.data;
    const w = r.window;
    // The id is how an editor finds the FAQ in faq_data/; a deleted FAQ has nothing else.
    const faqCell = (f) => h("th", { scope: "row" },
      f.exists ? [h("span", { text: f.question }), h("br", {})] : null,
      h("code", { class: "c-muted c-small", text: f.id }),
      f.exists ? null : h("span", { class: "c-tag", text: T("faqRemoved") }));
    const table = (id, heads, rows) => h("div", { class: "c-table-wrap" },
      h("table", { class: "c-table", "aria-labelledby": id },
        h("thead", {}, h("tr", {}, heads.map(([x, num]) => h("th", { scope: "col", class: num ? "c-num-col" : null, text: x })))),
        h("tbody", {}, rows)));
    const section = (id, title, intro, rows, heads, none, extra) => h("section", { class: "c-report-part", "aria-labelledby": id },
      h("h3", { id, text: title }),
      intro ? h("p", { class: "c-muted", text: intro }) : null,
      rows.length ? table(id, heads, rows) : h("p", { text: none }),
      extra || null);

    const unanswered = r.unanswered.map((u) => h("tr", {},
      h("th", { scope: "row", class: "c-quote", text: u.example }),
      h("td", { class: "c-num-col", text: String(u.count) }),
      h("td", {}, h("time", { datetime: u.last_asked, text: fmtDate(u.last_asked) })),
      h("td", { text: u.lang === "en" ? T("langEn") : T("langIt") })));
    const notHelpful = r.not_helpful.map((f) => h("tr", {},
      faqCell(f),
      h("td", { class: "c-num-col", text: String(f.suggested) }),
      h("td", { class: "c-num-col", text: String(f.not_solved) }),
      h("td", { class: "c-num-col", text: pctFmt.format(f.ratio) })));
    const helpful = r.helpful.map((f) => h("tr", {},
      faqCell(f),
      h("td", { class: "c-num-col", text: String(f.solved) })));
    const total = (label, n) => h("div", { class: "c-total" }, h("dt", { text: label }), h("dd", { text: String(n) }));

    clear(body).append(
      h("p", { class: "c-muted c-small" },
        T("reportWindow", { since: fmtDay(w.since), until: fmtDay(w.until) }),
        w.covered_from !== w.since ? h("span", { class: "c-warn-inline", text: " " + T("reportPartial", { from: fmtDate(w.covered_from) }) }) : null),
      h("dl", { class: "c-totals" },
        total(T("totalQuestions"), r.totals.questions),
        total(T("totalSolved"), r.totals.solved),
        total(T("totalEscalated"), r.totals.not_solved),
        total(T("totalNoMatch"), r.totals.no_match)),
      section("c-r-unanswered", T("unansweredTitle"), T("unansweredIntro"), unanswered,
        [[T("askedQuestion")], [T("times"), true], [T("lastAsked")], [T("language")]], T("unansweredNone"),
        r.unanswered_groups > r.unanswered.length
          ? h("p", { class: "c-muted c-small", text: T("unansweredMore", { shown: r.unanswered.length, total: r.unanswered_groups }) })
          : null),
      section("c-r-not-helpful", T("notHelpfulTitle"), T("notHelpfulIntro"), notHelpful,
        [[T("faqQuestion")], [T("suggestedCount"), true], [T("notSolvedCount"), true], [T("notSolvedShare"), true]], T("notHelpfulNone")),
      section("c-r-helpful", T("helpfulTitle"), null, helpful,
        [[T("faqQuestion")], [T("solvedCount"), true]], T("helpfulNone")),
      h("p", { class: "c-muted c-small", text: T("reportTogether") }),
    );
  }

  /* ----- start ----- */

  window.addEventListener("beforeunload", () => {
    if (S.current) {
      stopTyping();
      emit("close_ticket", { number: S.current.number });
    }
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && S.me && ui.search && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      ev.preventDefault();
      ui.search.focus();
    }
  });

  if (S.me) startConsole();
  else renderLogin("");
})();
