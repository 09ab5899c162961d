"""Guide search that understands how residents really type.

An in-memory inverted index over folded words (no diacritics, đ→d) built once from the content.
Each query word is matched exactly, then through Telex/VNI repair, then by typo-tolerant fuzzy
match (rapidfuzz) and prefix. Guides score by field weight × word rarity × match quality, with a
bonus when the resident's own diacritics match (so "đường" ranks above "dương") and when a whole
title or synonym phrase appears in the query. The index lives in memory because the content is
small and static; SQLite FTS5 would still need the đ/Telex folding done by hand.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.content import Guide, Ward
from bot.textnorm import clean, fold, untype, words

# How much a word counts by where it stands in a guide.
TITLE, SYNONYM, KEYWORD, SUMMARY, STEP = 4.0, 4.0, 2.5, 1.5, 0.4
OTHER_LANGUAGE = 0.7  # an English word still finds a guide for a Vietnamese reader, a bit lower
EXACT_BONUS = 0.25  # share of a word's score added when its diacritics match too
FOLDED_ONLY = 0.35 # the resident typed marks and they differ: "phở" is probably not "phố"
PHRASE_BONUS = 3.0
MIN_SCORE = 3.0
TITLE_QUERY_MAX = 500  # characters: longer text is a message, never a guide's title
# Folded filler words residents wrap a need in ("xin chào, tôi muốn…", "how do I…"). Words that fold
# onto real terms (can → căn cước, the → thẻ) are deliberately absent.
STOP_WORDS = frozenset("xin chao toi muon lam sao cach nao giup voi minh oi a ah nhe vay gi "
                       "how do i to my me please hello hi what is with".split())


_GLUED = re.compile(r"([^\W\d_]{2,})(\d{1,2})")  # "muc2": a word with a number typed onto it


@dataclass(frozen=True)
class Hit:
    guide: Guide
    score: float


class SearchIndex:
    def __init__(self, guides: list[Guide]):
        self.guides = guides
        self._folded: dict[str, dict[int, float]] = defaultdict(dict)
        self._exact: dict[str, set[int]] = defaultdict(set)
        self._phrases: dict[str, set[int]] = defaultdict(set)
        titled: dict[str, set[int]] = defaultdict(set)
        for i, guide in enumerate(guides):
            for lang in ("vi", "en"):
                fields = [
                    (guide.title.get(lang), TITLE),
                    (guide.keywords.get(lang), KEYWORD),
                    (guide.summary.get(lang), SUMMARY),
                    *((step.text.get(lang), STEP) for step in guide.steps),
                ]
                for text, weight in fields:
                    self._add(i, f"{lang}:", text, weight)  # the reader's language is weighed per query
                self._phrases[_phrase(guide.title.get(lang))].add(i)
                titled[_phrase(guide.title.get(lang))].add(i)
            for synonym in (*guide.synonyms, guide.id.replace("-", " ")):
                self._add(i, "", synonym, SYNONYM)
                self._phrases[_phrase(synonym)].add(i)
        self._phrases.pop("", None)
        # Two guides with one folded title would make a typed title ambiguous: those stay a search.
        self._titles = {title: guides[next(iter(ids))] for title, ids in titled.items() if title and len(ids) == 1}
        self._phrase_words = max((p.count(" ") + 1 for p in self._phrases), default=0)
        self._df = {w: len(posting) for w, posting in self._folded.items()}
        self._vocab = sorted({w.split(":", 1)[-1] for w in self._folded if len(w.split(":", 1)[-1]) >= 3})

    def _add(self, i: int, prefix: str, text: str, weight: float) -> None:
        for word in words(text):
            key = prefix + fold(word)
            posting = self._folded[key]
            posting[i] = max(posting.get(i, 0.0), weight)
            self._exact[word].add(i)

    def _idf(self, key: str) -> float:
        return math.log(1 + len(self.guides) / self._df.get(key, 1))

    @lru_cache(maxsize=4096)  # noqa: B019 - one index per process, rebuilt only with new content
    def _candidates(self, word: str) -> tuple[tuple[str, float], ...]:
        """Indexed folded words this query word may mean, each with a match quality 0..1."""
        if self._known(word):
            return ((word, 1.0),)
        repaired = untype(word)
        if repaired != word and self._known(repaired):
            return ((repaired, 0.9),)
        if len(word) < 4:  # a typo in a short word is more often another word
            return ()
        found = {w: score / 100 * 0.85 for w, score, _ in process.extract(
            word, self._vocab, scorer=fuzz.ratio, score_cutoff=75 if len(word) > 4 else 85, limit=3)}
        for w in self._vocab_prefixed(word):
            found[w] = max(found.get(w, 0.0), 0.7)
        return tuple(found.items())

    @lru_cache(maxsize=4096)  # noqa: B019 - same lifetime as the index
    def _word_scores(self, word: str, lang: str) -> dict[int, float]:
        """Per guide, the best weight × rarity of one folded word, in the reader's language first."""
        other = "en" if lang == "vi" else "vi"
        best: dict[int, float] = {}
        for prefix, scale in (("", 1.0), (f"{lang}:", 1.0), (f"{other}:", OTHER_LANGUAGE)):
            key = prefix + word
            posting = self._folded.get(key)
            if not posting:
                continue
            idf = self._idf(key)
            for i, weight in posting.items():
                value = weight * scale * idf
                if value > best.get(i, 0.0):
                    best[i] = value
        return best

    def _known(self, word: str) -> bool:
        return word in self._folded or f"vi:{word}" in self._folded or f"en:{word}" in self._folded

    def _vocab_prefixed(self, word: str) -> list[str]:
        start = bisect.bisect_left(self._vocab, word)
        out = []
        for w in self._vocab[start:start + 5]:
            if not w.startswith(word):
                break
            out.append(w)
        return out

    def by_title(self, query: str) -> Guide | None:
        """The guide whose title, in either language, the query is once both are folded (case, accents,
        đ, spacing, punctuation and emoji ignored); None otherwise. A resident who types or pastes a
        title they saw wants that guide, not a list with it on top."""
        if len(query) > TITLE_QUERY_MAX:
            return None
        return self._titles.get(_phrase(query))

    def _unglue(self, word: str) -> list[str]:
        """ "muc2" → ["muc", "2"] when the number is a word of some guide ("mức 2"); otherwise the word as
        typed, so VNI marks ("d9a81t") are still repaired."""
        glued = _GLUED.fullmatch(word)
        if glued and self._known(glued[2]):
            return [glued[1], glued[2]]
        return [word]

    def search(self, query: str, lang: str = "vi", limit: int = 5) -> list[Hit]:
        query_words = [part for w in words(query)[:20] for part in self._unglue(w)
                       if fold(part) not in STOP_WORDS]  # an essay is not a search
        if not query_words:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        for word in query_words:
            per_guide: dict[int, float] = {}
            for candidate, quality in self._candidates(fold(word)):
                for i, value in self._word_scores(candidate, lang).items():
                    value *= quality
                    if value > per_guide.get(i, 0.0):
                        per_guide[i] = value
            marked = fold(word) != word
            exact = self._exact.get(word, set()) if marked else set()
            for i, value in per_guide.items():
                scores[i] += value * (1 + EXACT_BONUS if i in exact else FOLDED_ONLY if marked else 1)
                matched[i] += 1
        for phrase in self._query_phrases(query):
            for i in self._phrases.get(phrase, ()):
                scores[i] += PHRASE_BONUS
        final = {i: score * matched[i] / len(query_words) for i, score in scores.items()}
        # Only the best `limit` (and whatever ties the last of them) need sorting: with 10,000 guides,
        # sorting every guide that shares a word with the query was most of a search's time.
        best = heapq.nlargest(limit, final.values())
        floor = max(best[-1] if best else 0.0, MIN_SCORE)
        ranked = sorted(((s, i) for i, s in final.items() if s >= floor),
                        key=lambda pair: (-pair[0], self.guides[pair[1]].id))
        return [Hit(self.guides[i], round(s, 3)) for s, i in ranked[:limit]]

    def _query_phrases(self, query: str) -> set[str]:
        """Every run of two or more words of the query, up to the longest indexed phrase: the title and
        synonym phrases it may contain are looked up, instead of testing each phrase against it."""
        folded = _phrase(query).split()
        return {" ".join(folded[start:end]) for start in range(len(folded))
                for end in range(start + 2, min(len(folded), start + self._phrase_words) + 1)}


WARD_PREFIXES = ("phuong ", "ward ", "p ")


def match_wards(query: str, wards: list[Ward]) -> list[Ward]:
    """Wards whose name, or an old ward name they took in, the query mentions; accents optional.
    An old name that was split ("Đa Kao") matches every ward that took part of it."""
    folded = f" {_phrase(query)} "
    found = []
    for ward in wards:
        names = {_phrase(ward.name.vi), _phrase(ward.name.en), *(_phrase(a) for a in ward.aliases)}
        names |= {n.removeprefix(prefix) for n in names for prefix in WARD_PREFIXES}
        names |= {n.removesuffix(" ward") for n in names}
        if any(f" {n} " in folded for n in names if " " in n):  # two words at least: "tan dinh", not "tan"
            found.append(ward)
    return found


def _phrase(text: str) -> str:
    return " ".join(fold(w) for w in words(text))


def normalise_query(query: str) -> str:
    """The form searches are logged in: folded, so content authors see one row per need."""
    return _phrase(clean(query))[:200]
