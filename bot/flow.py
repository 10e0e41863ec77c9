"""The guided flow as data: one row per step, run by `bot.engine.step`.

A step that fills a slot is named after it, and so are its texts (Rasa forms): the step
`email` fills the slot `email`, says `ask_email`, validates with `validate_email` and answers a
bad value with `wrong_email.<reason>`. A failed validation keeps the step.

The ticket is a form: after each answer the engine asks the first slot of TICKET_FORM that is
not filled with a valid value, so prefilled slots (a follow-up of a closed ticket) are skipped
and a correction made from the summary comes straight back to the summary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.validate import (
    Result,
    Valid,
    validate_email,
    validate_message,
    validate_name,
    validate_number,
    validate_phone,
)


@dataclass(frozen=True)
class Step:
    ask: str | None = None  # i18n key said on entering the step
    slot: str | None = None  # the slot the step fills
    input: str | None = None  # the text box the widget shows: text | email | tel | name | file
    placeholder: str | None = None  # i18n key
    options: tuple[str, ...] = ()  # fixed option ids, labelled by option.<id>
    choices: str | None = None  # options drawn from data: "topics" | "subtopics" | "fields"
    on: Mapping[str, str] = field(default_factory=dict)  # option id -> action
    # what typed text means: "value" (validate into the slot), "question" (search the FAQ),
    # "attachment" (only yes/no words make sense); None: use the buttons
    text: str | None = None
    yes: str | None = None  # action for "sì", "ok"...
    no: str | None = None  # action for "no", "niente"...
    form: str | None = None  # "ticket" | "lookup": the form a value step belongs to
    waiting: bool = False  # waiting for an effect's result from the web layer


FLOW: dict[str, Step] = {
    "welcome": Step(
        ask="ask_welcome", input="text", placeholder="placeholder.welcome",
        options=("new_ticket", "have_ticket"),
        on={"new_ticket": "new_ticket", "have_ticket": "have_ticket"},
        text="question",
    ),
    "topic": Step(
        ask="ask_topic", slot="topic", choices="topics", input="text",
        placeholder="placeholder.topic", text="question", form="ticket",
    ),
    "subtopic": Step(
        ask="ask_subtopic", slot="subtopic", choices="subtopics", options=("back",),
        on={"back": "back_to_topic"}, input="text", placeholder="placeholder.topic",
        text="question", form="ticket",
    ),
    "message": Step(
        ask="ask_message", slot="message", input="text", placeholder="placeholder.message",
        text="value", form="ticket",
    ),
    "suggest": Step(
        ask="ask_solved", options=("solved", "not_solved"),
        on={"solved": "solved", "not_solved": "not_solved"}, input="text",
        placeholder="placeholder.suggest", text="question", yes="solved", no="not_solved",
    ),
    # FAQs that may help (the middle band of FaqIndex.decide): the ticket button comes first
    "maybe": Step(
        ask="ask_maybe", options=("ticket", "solved"),
        on={"ticket": "not_solved", "solved": "solved"}, input="text",
        placeholder="placeholder.suggest", text="question", yes="solved", no="not_solved",
    ),
    "email": Step(
        ask="ask_email", slot="email", input="email", placeholder="placeholder.email",
        text="value", form="ticket",
    ),
    "name": Step(
        ask="ask_name", slot="name", input="name", placeholder="placeholder.name",
        text="value", form="ticket",
    ),
    "phone": Step(
        ask="ask_phone", slot="phone", input="tel", placeholder="placeholder.phone",
        text="value", form="ticket",
    ),
    "attachment": Step(
        ask="ask_attachment", slot="attachment", input="file", options=("skip_attachment",),
        on={"skip_attachment": "skip_attachment"}, text="attachment", no="skip_attachment",
        form="ticket",
    ),
    "summary": Step(
        ask="summary.intro", options=("confirm", "correct"),
        on={"confirm": "confirm", "correct": "correct"}, yes="confirm", no="correct",
    ),
    "correct": Step(
        ask="ask_correct", choices="fields", options=("back_to_summary",),
        on={"back_to_summary": "summary"}, no="summary",
    ),
    "creating_ticket": Step(waiting=True),
    # "back": a student who pressed "Ho già un ticket" by mistake is not stuck with an email
    "lookup_email": Step(
        ask="ask_lookup_email", slot="email", input="email", placeholder="placeholder.email",
        options=("back",), on={"back": "leave_lookup"}, text="value", form="lookup",
    ),
    "lookup_number": Step(
        ask="ask_lookup_number", slot="number", input="text", placeholder="placeholder.number",
        options=("change_email", "back"),
        on={"change_email": "change_email", "back": "leave_lookup"}, text="value", form="lookup",
    ),
    "looking_up": Step(waiting=True),
    "done": Step(
        ask="ask_done", input="text", placeholder="placeholder.welcome",
        options=("new_ticket", "have_ticket"),
        on={"new_ticket": "new_ticket", "have_ticket": "have_ticket"},
        text="question",
    ),
}

# The ticket's slots in the order they are asked. "suggest" is not a slot: it stands for
# "the request has been searched in the FAQ" (slot `searched`).
TICKET_FORM = ("topic", "subtopic", "message", "suggest", "email", "name", "phone", "attachment")
LOOKUP_FORM = ("lookup_email", "lookup_number")
# Fields the student can correct from the summary, in the order the summary shows them.
SUMMARY_FIELDS = ("email", "name", "phone", "topic", "subtopic", "message", "attachment")
# Slots that outlive a finished ticket or lookup, so a second request needs no retyping.
CONTACT_SLOTS = ("email", "name", "phone")
# Slots a follow-up conversation may start with (web layer, closed ticket).
PREFILL_SLOTS = ("email", "name", "phone", "references")
# The number of the ticket this chat has just opened, until the student's next move.
OPENED = "opened"

VALIDATORS: dict[str, Callable[[str], Result]] = {
    "email": validate_email,
    "name": validate_name,
    "phone": validate_phone,
    "message": validate_message,
    "number": validate_number,
}

# What students type instead of pressing a button, compared after folding (lower case, no
# accents or punctuation). EXACT words must be the whole message; PHRASES may appear inside a
# short message (at most PHRASE_MAX_WORDS words), so a long question that mentions an
# operator is still searched as a question.
EXACT: dict[str, frozenset[str]] = {
    "restart": frozenset({
        "ricomincia", "ricominciamo", "ricominciare", "ricomincia da capo", "da capo",
        "restart", "start over", "start again", "reset",
    }),
    "yes": frozenset({
        "si", "s", "ok", "okay", "certo", "va bene", "perfetto", "risolto", "ho risolto",
        "si grazie", "si ho risolto", "yes", "y", "yep", "sure", "solved", "yes thanks",
    }),
    "no": frozenset({
        "no", "n", "nope", "no grazie", "non ho risolto", "non risolto", "niente", "nessuno",
        "nessuna", "nessun allegato", "nessun file", "senza allegato", "salta", "skip",
        "no thanks", "not solved", "none", "nothing",
    }),
    "greeting": frozenset({
        "ciao", "salve", "buongiorno", "buonasera", "hey", "hello", "hi", "good morning",
        "good evening",
    }),
    "thanks": frozenset({"grazie", "grazie mille", "thanks", "thank you", "thx"}),
    "back": frozenset({
        "indietro", "torna indietro", "tornare indietro", "vai indietro", "back", "go back",
    }),
}
PHRASES: dict[str, tuple[str, ...]] = {
    "operator": (
        "operatore", "operatrice", "persona reale", "essere umano", "umano", "operator",
        "human", "real person", "agent", "aprire un ticket", "apri un ticket", "creare un ticket",
        "nuovo ticket", "aprire una richiesta", "open a ticket", "new ticket",
    ),
    "have_ticket": (
        "ho gia un ticket", "ho gia aperto un ticket", "gia aperto un ticket", "stato del ticket",
        "stato ticket", "stato della richiesta", "verifica ticket", "mio ticket",
        "already have a ticket", "already opened a ticket", "my ticket", "ticket status",
        "status of my ticket", "check my ticket",
    ),
}
PHRASE_MAX_WORDS = 8
# A short reply made only of these words answers with yes, no or thanks in any order ("ok
# grazie mille", "no, non è quello", "risolto grazie"), which no list of whole messages holds;
# a word of "no" wins ("ok ma non ho risolto"), then one of thanks: where a yes is asked for,
# thanks is one, and elsewhere it gets its own answer.
REPLY_WORDS: dict[str, frozenset[str]] = {
    "no": frozenset({
        "no", "n", "nope", "nah", "non", "nn", "purtroppo", "niente", "nulla", "affatto", "not",
        "nothing", "unfortunately",
    }),
    "thanks": frozenset({
        "grazie", "grazi", "mille", "tante", "infinite", "thanks", "thank", "thx", "ty", "tnx",
    }),
    "yes": frozenset({
        "si", "s", "sisi", "ok", "okay", "okk", "oki", "certo", "bene", "perfetto", "ottimo",
        "risolto", "risolta", "chiaro", "capito", "esatto", "fatto", "giusto", "funziona",
        "yes", "y", "yep", "yeah", "yup", "sure", "solved", "great", "perfect", "clear", "fine",
        "works", "got", "understood",
    }),
}
# Words that sit around such a reply without changing it.
REPLY_FILLER = frozenset({
    "ho", "hai", "e", "ma", "mi", "ti", "tutto", "molto", "proprio", "davvero", "allora",
    "quindi", "va", "cosi", "era", "quello", "questo", "cio", "cercavo", "ancora", "ora", "a",
    "posto", "it", "is", "that", "this", "you", "so", "much", "very", "all", "really", "lot",
})
REPLY_MAX_WORDS = 6
# A phone keyboard answers "did this help?" with an emoji alone, which folding leaves empty;
# a no wins over a yes, as with words. Skin tones and the emoji presentation sign are dropped.
EMOJI_REPLIES: dict[str, frozenset[str]] = {
    "no": frozenset("\U0001f44e\u274c\u2716"),  # thumbs down, cross marks
    "thanks": frozenset("\U0001f64f"),  # folded hands
    "yes": frozenset("\U0001f44d\U0001f44c\u2705\u2714\U0001f197"),  # thumbs up, ok, checks
}
_EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff\\s]")
_REPLY_VOCABULARY = REPLY_FILLER.union(*REPLY_WORDS.values())
# A greeting or a call for help that says nothing of the problem ("buonasera, avrei bisogno di
# aiuto", "hello, I have a question"): a greeting, never the ticket's request.
VAGUE_WORDS = frozenset({
    "ciao", "salve", "buongiorno", "buonasera", "buon", "pomeriggio", "hey", "ehi", "hello",
    "hi", "raga", "ragazzi", "good", "morning", "evening", "afternoon", "aiuto", "help",
    "bisogno", "domanda", "domande", "question", "questions", "info", "informazione",
    "informazioni", "information", "chiarimento", "dubbio", "avrei", "ho", "una", "un", "di",
    "i", "have", "need", "a", "some", "per", "favore", "please", "vorrei", "chiedere", "ask",
    "to", "posso", "can", "could", "qualcuno", "someone", "anyone", "mi", "me", "aiutare",
    "aiutarmi", "potete", "puoi", "you", "with", "qualcosa", "something", "c", "e", "there",
    "is",
})
# Asking for the other language in a few words ("in english please", "parli inglese?", "can we
# speak italian"): a longer message, or one with other words ("certificato di inglese"), is a
# question, not a request to switch.
LANGUAGE_NAMES = {
    "en": frozenset({"english", "inglese", "eng"}),
    "it": frozenset({"italiano", "italian", "ita"}),
}
LANGUAGE_FILLER = frozenset({
    "in", "parli", "parla", "parlate", "parlare", "scrivere", "scrivi", "scrivete", "possiamo",
    "lingua", "language", "speak", "talk", "write", "we", "do", "the", "an", "version",
    "sorry", "scusa", "scusate", "don", "t", "only", "solo", "si", "ok", "switch", "cambia",
})
LANGUAGE_MAX_WORDS = 7


def asked_language(text: str) -> str | None:
    """The language a short message asks to chat in, if that is all it asks."""
    words = fold(text).split()
    said = set(words)
    if not words or len(words) > LANGUAGE_MAX_WORDS:
        return None
    for lang, names in LANGUAGE_NAMES.items():
        if said & names and said <= names | LANGUAGE_FILLER | VAGUE_WORDS:
            return lang
    return None


# A place in a list of buttons, as typed on a phone ("2", "la seconda", "the first one"):
# lists of topics, subtopics and fields only, where a number names no ticket.
ORDINALS: dict[str, int] = {
    "primo": 1, "prima": 1, "first": 1, "secondo": 2, "seconda": 2, "second": 2,
    "terzo": 3, "terza": 3, "third": 3, "quarto": 4, "quarta": 4, "fourth": 4,
    "quinto": 5, "quinta": 5, "fifth": 5, "sesto": 6, "sesta": 6, "sixth": 6,
    "settimo": 7, "settima": 7, "seventh": 7,
}
LAST_WORDS = frozenset({"ultimo", "ultima", "last"})
ORDINAL_FILLER = frozenset({
    "il", "la", "lo", "l", "quella", "quello", "the", "one", "opzione", "scelta", "voce",
    "numero", "n", "nr", "option", "choice", "number",
})


def typed_position(text: str, count: int) -> int | None:
    """The 1-based place in a list of `count` buttons that a short message names, if any."""
    rest = [w for w in fold(text).split() if w not in ORDINAL_FILLER]
    if len(rest) != 1:
        return None
    word = rest[0]
    digits = word.rstrip("ao")  # "2a", "1o": "2ª", "1º" folded
    if digits.isdigit() and len(digits) <= 2:
        position = int(digits)
    elif word in LAST_WORDS:
        position = count
    else:
        position = ORDINALS.get(word, 0)
    return position if 1 <= position <= count else None


# A field of the ticket named in a few words ("ho sbagliato l'email", "cambia argomento",
# "wrong phone"): a correction, never the value of the step on screen; at the list of fields
# the field's name alone ("telefono") is enough.
FIELD_WORDS: dict[str, frozenset[str]] = {
    "email": frozenset({"email", "mail", "indirizzo", "address"}),
    "name": frozenset({"nome", "cognome", "nominativo", "name", "surname"}),
    "phone": frozenset({"telefono", "cellulare", "cell", "numero", "phone", "mobile"}),
    "topic": frozenset({"argomento", "categoria", "topic", "category"}),
    "subtopic": frozenset({"tema", "subtopic", "theme"}),
    "message": frozenset({"richiesta", "domanda", "messaggio", "request", "question", "message"}),
    "attachment": frozenset({"allegato", "file", "attachment"}),
}
CORRECTION_WORDS = frozenset({
    "sbagliato", "sbagliata", "sbagliati", "errato", "errata", "correggi", "correggere",
    "cambia", "cambiare", "modifica", "modificare", "wrong", "change", "fix", "correct", "edit",
})
FIELD_MAX_WORDS = 6


def named_field(text: str, *, correcting: bool = True) -> str | None:
    """The one ticket field a short message names; with `correcting`, only if it also says
    the field is wrong or to change it."""
    words = set(fold(text).split())
    if not words or len(fold(text).split()) > FIELD_MAX_WORDS:
        return None
    if correcting and not words & CORRECTION_WORDS:
        return None
    named = [name for name, names in FIELD_WORDS.items() if words & names]
    return named[0] if len(named) == 1 else None


# A ticket number typed at the welcome: bare ("000412", "#412", "412"), or in a few words that
# name it ("ticket 000412", "il mio ticket è il n. 412").
TICKET_NUMBER = re.compile(r"#?\s*\d{1,6}")
NUMBER_WORDS = frozenset({"ticket", "pratica", "numero", "n", "nr", "num", "number"})


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: how typed commands are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def intent(text: str) -> str | None:
    """The command a short typed message stands for, if any."""
    folded = fold(text)
    if not folded:
        # Only emoji or punctuation ("👍", "???"): never a question for the FAQ.
        signs = set(_EMOJI_MODIFIERS.sub("", text))
        kinds = [name for name, marks in EMOJI_REPLIES.items() if signs & marks]
        return kinds[0] if kinds else "blank"
    for name, words in EXACT.items():
        if folded in words:
            return name
    count = len(folded.split())
    said = set(folded.split())
    if said and count <= REPLY_MAX_WORDS and said <= _REPLY_VOCABULARY:
        kinds = [name for name, words in REPLY_WORDS.items() if said & words]
        if kinds:
            return kinds[0]  # in REPLY_WORDS' order: no, thanks, yes
    if said and count <= PHRASE_MAX_WORDS and said <= VAGUE_WORDS:
        return "greeting"
    if count <= PHRASE_MAX_WORDS:
        padded = f" {folded} "
        for name, phrases in PHRASES.items():
            if any(f" {p} " in padded for p in phrases):
                return name
    return None


def typed_number(text: str) -> str | None:
    """The ticket number a message at the welcome gives (TICKET_NUMBER), as stored."""
    words = fold(text).split()
    digits = [w for w in words if w.isdigit() and len(w) <= 6]
    if TICKET_NUMBER.fullmatch(text.strip()):
        candidate = text
    elif len(digits) == 1 and len(words) <= PHRASE_MAX_WORDS and NUMBER_WORDS & set(words):
        candidate = digits[0]
    else:
        return None
    number = validate_number(candidate)
    return number.value if isinstance(number, Valid) else None
