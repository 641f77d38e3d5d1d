"""Is a chat message a question someone could help with? A small rule-based classifier.

It reads what a person would: a sentence ending in a question mark (URLs, code and mentions
taken out first, so `?utm=…` is not one), an interrogative opening ("how do I…", "is there…"),
or a request for help ("does anyone…", "any advice on…", "looking for recommendations…").
Rhetorical and social lines are not questions: thanks, exclamations ("how cool is that!",
"what a day"), tag questions on a statement ("great session, right?"), a bare "?".

Its precision and recall are measured on a labelled set of chat lines
(tests/data/questions.tsv, tests/test_questions_classifier.py).
"""

from __future__ import annotations

import re

_NOISE = re.compile(
    r"<[^>]*>"  # mentions, platform links
    r"|https?://\S+|www\.\S+"  # URLs (with their own ?query)
    r"|`[^`]*`"  # code
    r"|:[a-z0-9_+-]+:",  # emoji names
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD = re.compile(r"[a-z0-9']+")

_INTERROGATIVE_WORDS = """
how what why when where which who whom whose is are am was were do does did can could would will
should shall may might has have had isnt arent doesnt dont didnt cant couldnt wouldnt shouldnt
wont
"""
INTERROGATIVES = frozenset(_INTERROGATIVE_WORDS.split())
ASKING = (
    r"\b(does|do|has|have|did|is|would|could|can|will) (any ?one|any ?body|some ?one|some ?body"
    r"|you|people|folks|others|we|i)\b",
    r"\bany (advice|tips|recommendations|suggestions|pointers|ideas|thoughts|experience"
    r"|guidance|examples|templates|resources|help)\b",
    r"\b(looking for|need|needing|seeking|after) (some )?(advice|help|recommendations"
    r"|suggestions|pointers|tips|guidance|examples|a template|input)\b",
    r"\b(i('m| am)? )?wonder(ing)? (if|whether|how|what|why|who)\b",
    r"\bnot sure (how|what|whether|if|where|which|who)\b",
    r"\b(can|could) (some|any)(one|body) (help|explain|share|point|recommend)\b",
    r"\bhow (do|does|did|can|could|should|would) (i|we|you|one|people|teams)\b",
    r"\b(is|are) there (a|an|any|some)\b",
    r"\bwhat('s| is| are) (the|a|your|best|good)\b",
    r"\b(anyone|anybody) (know|knows|tried|used|seen|have|has|got|else)\b",
    r"\bhelp (me|us) (with|understand|figure)\b",
    r"\bwhere (can|do|should|would) (i|we)\b",
)
_FOLLOWER_WORDS = """
i we you it they he she this that there anyone someone people the a an to your our my is are
much many long often far
"""
FOLLOWERS = frozenset(_FOLLOWER_WORDS.split())
"""What follows an interrogative opening in a question ("how *do*", "is *there*")."""
_ASKING = re.compile("|".join(ASKING))
RHETORICAL = re.compile(
    r"^(how (cool|great|nice|lovely|awesome|amazing|good|fun|sad|funny|exciting|hard|weird)"
    r"|what a(n)? |what (fun|luck)|who knew|guess what|you know what|can you believe"
    r"|isn'?t (it|that) (great|nice|cool|lovely|amazing)|why not\b|how about that"
    r"|who doesn'?t|wouldn'?t it be (nice|great)|how time flies|what (else )?is new\b)"
)
SOCIAL = re.compile(
    r"^(thanks|thank you|thx|ty|cheers|many thanks|great|nice|awesome|congrats|congratulations"
    r"|welcome|hello|hi|hey|morning|good morning|lol|haha|ok|okay|sure|yes|no|yep|nope"
    r"|\+1|same|agreed|noted|done|fixed)\b"
)
TAGS = re.compile(
    r",\s*(right|eh|innit|no|yeah|huh|isn'?t it|don'?t you think|aren'?t they"
    r"|wasn'?t it|didn'?t it|ok|okay)\s*\?+$"
)


def _sentences(text: str) -> list[str]:
    cleaned = _NOISE.sub(" ", text).lower().replace("’", "'")
    return [" ".join(s.split()) for s in _SENTENCE.findall(cleaned) if s.strip(" .!?")]


def _words(sentence: str) -> list[str]:
    return _WORD.findall(sentence.replace("'", ""))


def _asks(sentence: str) -> bool:
    words = _words(sentence)
    if not words:
        return False
    if RHETORICAL.match(sentence) or TAGS.search(sentence):
        return False
    if sentence.endswith("!"):
        return False
    if sentence.endswith("?"):
        return not (len(words) == 1 and SOCIAL.match(sentence))  # not "ok?", "thanks?"
    if _ASKING.search(sentence):
        return True
    if words[0] in INTERROGATIVES and len(words) >= 4:
        # "how do we …" without its question mark, but not "what a day", "does the job"
        return words[1] in INTERROGATIVES or words[1] in FOLLOWERS
    return False


def is_question(text: str) -> bool:
    """Whether a chat message asks something (see the module's doc)."""
    sentences = _sentences(text)
    if not sentences:
        return False
    if len(sentences) == 1 and SOCIAL.match(sentences[0]) and not sentences[0].endswith("?"):
        return False
    return any(_asks(s) for s in sentences)
