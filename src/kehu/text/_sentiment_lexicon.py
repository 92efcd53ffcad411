"""English and emoji sentiment from the VADER lexicon (Hutto & Gilbert 2014), shipped in kehu.

There is no English sentiment corpus among kehu's training data, so English text is scored by
rules over a human-rated lexicon instead of a trained model: VADER ("VADER: A Parsimonious
Rule-based Model for Sentiment Analysis of Social Media Text", ICWSM 2014), whose lexicon
(7,500 tokens rated -4…+4 by ten people each) ships with the MIT-licensed ``vaderSentiment``
3.3.2 wheel. kehu keeps the mean ratings in ``models/en_lexicon.tsv`` (emoji rated by summing the
ratings of the words of their names, as VADER does) and re-implements VADER's main rules here:
negation in the three preceding words (x -0.74), boosters and dampeners (± 0.293), "but"
(before x 0.5, after x 1.5), exclamation marks (+ 0.292 each, up to 4), and the compound score
``s / sqrt(s² + 15)``. Not re-implemented: ALL-CAPS emphasis (text is lower-cased before it gets
here), idioms and "least". VADER's paper reports F1 of about 0.96 on tweets but about 0.6 on
product and movie reviews: a lexicon misses domain words and sarcasm, so treat English scores as a
coarse signal, not as accurate as the trained Chinese model.
"""

import math
import re
from functools import lru_cache
from importlib import resources

_B_INCR = 0.293
_NEGATION_SCALAR = -0.74
_EXCLAMATION = 0.292
_BOOSTERS = {
    **dict.fromkeys(
        [
            "absolutely",
            "amazingly",
            "awfully",
            "completely",
            "considerably",
            "decidedly",
            "deeply",
            "enormously",
            "entirely",
            "especially",
            "exceptionally",
            "extremely",
            "fully",
            "greatly",
            "highly",
            "hugely",
            "incredibly",
            "intensely",
            "particularly",
            "purely",
            "quite",
            "really",
            "remarkably",
            "so",
            "substantially",
            "thoroughly",
            "totally",
            "tremendously",
            "unbelievably",
            "unusually",
            "utterly",
            "very",
        ],
        _B_INCR,
    ),
    **dict.fromkeys(
        [
            "almost",
            "barely",
            "hardly",
            "kinda",
            "less",
            "little",
            "marginally",
            "occasionally",
            "partly",
            "scarcely",
            "slightly",
            "somewhat",
            "sorta",
        ],
        -_B_INCR,
    ),
}
_NEGATIONS = frozenset(
    [
        "aint",
        "arent",
        "cannot",
        "cant",
        "couldnt",
        "didnt",
        "doesnt",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "isnt",
        "mightnt",
        "mustnt",
        "neither",
        "never",
        "none",
        "nope",
        "nor",
        "not",
        "nothing",
        "nowhere",
        "shouldnt",
        "wasnt",
        "werent",
        "without",
        "wont",
        "wouldnt",
        "rarely",
        "seldom",
        "despite",
        "no",
    ]
)
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[^\w\s]")
_VARIATION_SELECTORS = dict.fromkeys(range(0xFE00, 0xFE10))


@lru_cache(maxsize=1)
def lexicon() -> dict[str, float]:
    """Return token → mean valence (-4…+4) of the shipped lexicon (words, emoticons, emoji)."""
    text = resources.files("kehu.text").joinpath("models/en_lexicon.tsv").read_text("utf-8")
    table: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            token, valence = line.split("\t")
            table.setdefault(token.translate(_VARIATION_SELECTORS), float(valence))
    return table


def _tokens(text: str, table: dict[str, float]) -> list[str]:
    """Return the lower-case words, emoticons (``:)``) and single symbols (emoji) of ``text``."""
    out: list[str] = []
    for chunk in text.lower().translate(_VARIATION_SELECTORS).split():
        if chunk in table:
            out.append(chunk)
        else:
            out.extend(t.replace("'", "") for t in _TOKEN.findall(chunk))
    return out


def lexicon_evidence(text: str) -> tuple[float, int]:
    """Return VADER's compound score of ``text`` (-1…+1) and how many tokens carried sentiment.

    Parameters
    ----------
    text
        A normalised text (lower case); Chinese characters in it are ignored.

    Returns
    -------
    tuple of (float, int)
        The compound score (0.0 when nothing matched) and the number of rated tokens.
    """
    table = lexicon()
    words = _tokens(text, table)
    sentiments: list[float] = []
    for i, word in enumerate(words):
        valence = table.get(word)
        if valence is None or word in _BOOSTERS:
            sentiments.append(0.0)
            continue
        for distance in (1, 2, 3):
            if i - distance < 0:
                break
            before = words[i - distance]
            boost = _BOOSTERS.get(before, 0.0) * (1.0, 0.95, 0.9)[distance - 1]
            valence += math.copysign(boost, valence) if boost else 0.0
            if before in _NEGATIONS:
                valence *= _NEGATION_SCALAR
        sentiments.append(valence)
    if "but" in words:
        pivot = words.index("but")
        sentiments = [
            s * 0.5 if i < pivot else s * 1.5 if i > pivot else s for i, s in enumerate(sentiments)
        ]
    rated = sum(1 for s in sentiments if s)
    total = sum(sentiments)
    if not rated:
        return 0.0, 0
    total += math.copysign(min(text.count("!"), 4) * _EXCLAMATION, total) if total else 0.0
    return total / math.sqrt(total * total + 15.0), rated
