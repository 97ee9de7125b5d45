"""How strong a secret key is: one estimate for SECRET_KEY and AUDIT_HMAC_KEY, asked by the deploy
checks (workflows/checks.py: `manage.py check --deploy` fails) and at web start-up with DEBUG off
(config/wsgi.py: gunicorn refuses to start). docs/production.md, "Keys".

Length and distinct characters are not enough: "changeme-changeme-…", "password1234567890…" and
"my-company-production-secret-key-2026" are long and varied, and guessable. The estimate is a
lower bound in the spirit of zxcvbn: the fewest bits that describe the key when an attacker may
use, at each position, a character of its class (a separator such as - or _ is cheap), a word
from a list of words people put in keys, any other run of letters as a word of a real dictionary,
a run of consecutive characters (abcd, 9876, keyboard rows), a repeat of something earlier in the
key, or a year. A random key of the recommended size scores far above the bar (measured in
tests/production/test_keys.py: secrets.token_urlsafe(50) ~300 bits, secrets.token_hex(32) ~250)."""
from __future__ import annotations

import math
import re
from functools import cache

#: Bits a key must carry (an attacker's best description of it must be at least this long).
MIN_BITS = 128
#: Minimum lengths: Django's for SECRET_KEY (SECRET_KEY_MIN_LENGTH); 32 bytes of base64 for the HMAC key.
MIN_LENGTH = {"SECRET_KEY": 50, "AUDIT_HMAC_KEY": 43}

#: Words people build keys from (English, French, the project's own names, keyboard rows).
WORDS = """
secret secrets key keys password passwd pass passphrase motdepasse mot de passe clef cle cles change changeme
changemenow change_me default defaut example exemple sample test testing tests demo dev devel development
prod production staging stage local localhost admin administrator root user guest login django insecure
secure security sécurité securite parley audit hmac hash token api app application web site server service
company entreprise government gouvernement gov gc canada quebec ottawa ministry ministere department
do not dont use share ne pas utiliser only lint dummy fake placeholder replace remplacer todo fixme
my mine our your the and for with this that please very super long random aleatoire strong fort
letmein welcome bienvenue hello bonjour monkey dragon master shadow sunshine princess football baseball
qwerty qwertz azerty asdf asdfgh zxcv zxcvbn qazwsx iloveyou trustno1 abc abcdef abcdefgh
one two three four five six seven eight nine ten zero un deux trois quatre cinq
january february march april may june july august september october november december
spring summer autumn winter year annee key1 key2 new old nouveau ancien temp tmp backup copy
""".split()

_KEYBOARD_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "azertyuiop", "qsdfghjklm", "wxcvbn")


@cache
def _word_set() -> frozenset[str]:
    return frozenset(w for w in (word.lower() for word in WORDS) if len(w) >= 3)


SEPARATORS = "-_. /:+,"
#: A word not in the list: about the size of a real dictionary (2**16 words), and its case.
UNLISTED_WORD_BITS = 17.0


_WORD_SHAPE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+")
_CONSONANTS = re.compile(r"[^aeiouy]{4}")


def _wordlike(text: str) -> bool:
    """Shaped like a word (one case, or capitalised; a quarter of its letters vowels; never four
    consonants in a row): how a random string's letters rarely look."""
    if not _WORD_SHAPE.fullmatch(text):
        return False
    low = text.lower()
    return sum(c in "aeiouy" for c in low) * 4 >= len(low) and not _CONSONANTS.search(low)


def _char_bits(ch: str) -> float:
    """One character, given its class (an attacker tries each class's characters)."""
    if ch in SEPARATORS:
        return 3.0
    if ch.isdigit():
        return math.log2(10)
    if ch.isalpha():
        return math.log2(26) + (0.0 if ch.islower() else 0.5)
    return math.log2(33)


def _run_length(key: str, i: int) -> int:
    """Length of the run of consecutive characters starting at i (abc, 321, qwer, ytrewq)."""
    best = 1
    for step in (1, -1):
        n = 1
        while i + n < len(key) and ord(key[i + n]) - ord(key[i + n - 1]) == step:
            n += 1
        best = max(best, n)
    lowered = key.lower()
    for row in _KEYBOARD_ROWS:
        for seq in (row, row[::-1]):
            n = 0
            start = seq.find(lowered[i]) if i < len(key) else -1
            while start >= 0 and i + n < len(key) and start + n < len(seq) and lowered[i + n] == seq[start + n]:
                n += 1
            best = max(best, n)
    return best


def estimate_bits(key: str) -> float:
    """The fewest bits that describe `key` under the patterns above (dynamic programming over
    positions: cost[i] = cheapest description of key[:i])."""
    n = len(key)
    if n == 0:
        return 0.0
    words = _word_set()
    word_bits = math.log2(len(words)) + 1  # which word, and its case
    cost = [math.inf] * (n + 1)
    cost[0] = 0.0
    lowered = key.lower()
    for i in range(n):
        if cost[i] == math.inf:
            continue
        here = cost[i]
        char_bits = _char_bits(key[i])
        # one character of its class
        cost[i + 1] = min(cost[i + 1], here + char_bits)
        # a word of the list; or any run of 4 to 12 letters, as a word of a real dictionary
        for length in range(3, min(20, n - i) + 1):
            if lowered[i:i + length] in words:
                cost[i + length] = min(cost[i + length], here + word_bits)
        for length in range(4, min(12, n - i) + 1):
            if _wordlike(key[i:i + length]):
                cost[i + length] = min(cost[i + length], here + UNLISTED_WORD_BITS)
        # a run of consecutive characters (its first character, direction and length)
        run = _run_length(key, i)
        if run >= 3:
            for length in range(3, run + 1):
                cost[i + length] = min(cost[i + length], here + char_bits + 1 + math.log2(length))
        # a year
        if re.match(r"(19|20)\d\d", key[i:i + 4]):
            cost[i + 4] = min(cost[i + 4], here + 7.7)
        # a repeat of something earlier (where, and how long)
        if i >= 3:
            for length in range(3, n - i + 1):
                if key[i:i + length] not in key[:i + length - 1]:
                    break
                cost[i + length] = min(cost[i + length], here + math.log2(i) + math.log2(length))
    return cost[n]


def key_weakness(name: str, key: str) -> str:
    """Why `key` (the value of setting `name`) is too weak for production, or "" when it is not."""
    minimum = MIN_LENGTH.get(name, 50)
    if len(key) < minimum:
        return f"{name} is too short: {len(key)} characters, at least {minimum} needed"
    if key.startswith("django-insecure-"):
        return f"{name} starts with 'django-insecure-'"
    bits = estimate_bits(key)
    if bits < MIN_BITS:
        return (f"{name} is guessable: about {bits:.0f} bits (words, repeats, runs of characters), "
                f"at least {MIN_BITS} needed")
    return ""


HOW_TO = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
