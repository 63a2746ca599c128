"""The faster ``carries_data`` (issue 17) gives the same answer as the reference it replaced.

``reference_carries_data_before_issue17`` is a verbatim copy of the per-character version; hypothesis
feeds both ASCII, mixed-case, digit-heavy, base32/base64-ish, non-ASCII, empty-label and long-label
names, under the default options and under small thresholds that reach every branch.
"""

from __future__ import annotations

import math
import string
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from wardwatch.detectors.behaviour.options import TunnelOptions
from wardwatch.detectors.behaviour.tunnel import _HOSTCHARS, carries_data, entropy


def reference_carries_data_before_issue17(sub: str, o: TunnelOptions) -> bool:
    if len(sub) >= o.sub_len:
        return True
    for label in sub.split("."):
        n = len(label)
        if n < 6:
            continue
        if any(c not in _HOSTCHARS for c in label):
            return True
        if n >= 8 and not label.islower() and not label.isupper() and any(c.isalpha() for c in label):
            return True
        if n >= o.label_len or (
            n >= 12 and entropy(label.lower()) >= o.entropy and sum(c.isdigit() for c in label) >= 2
        ):
            return True
    return False


_ALPHABETS = [
    string.ascii_lowercase + string.digits + "-",
    string.ascii_uppercase + string.digits,
    string.ascii_letters + string.digits,
    "abcdefghijklmnopqrstuvwxyz234567",  # base32
    string.ascii_letters + string.digits + "+/=",  # base64
    string.digits + "-_",
    "aé١٢ßİı\u0130\u212a0123456789",  # non-ASCII letters and digits, case-changing oddities
]
_labels = st.one_of(
    *(st.text(alphabet=a, min_size=0, max_size=70) for a in _ALPHABETS),
    st.text(max_size=40),
)
_names = st.lists(_labels, min_size=1, max_size=5).map(".".join)
_opts = st.sampled_from([TunnelOptions(), TunnelOptions(sub_len=500, label_len=500, entropy=2.0)])


@settings(max_examples=3000, deadline=None)
@given(_names, _opts)
def test_carries_data_equals_reference(name: str, o: TunnelOptions) -> None:
    assert carries_data(name, o) == reference_carries_data_before_issue17(name, o)


def test_reference_reaches_both_answers() -> None:
    # the comparison above means something only if both answers occur
    o = TunnelOptions()
    assert carries_data("aGVsbG8gd29ybGQ", o) is True
    assert carries_data("www", o) is False
    assert carries_data("a1b2c3d4e5f6g7h8", TunnelOptions(sub_len=500, label_len=500, entropy=2.0))


def reference_entropy_before_issue17(s: str) -> float:
    n = len(s)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


@settings(max_examples=3000, deadline=None)
@given(_labels)
def test_entropy_memo_returns_the_same_float(label: str) -> None:
    # twice: the second call answers from the memo
    assert entropy(label) == reference_entropy_before_issue17(label)
    assert entropy(label) == reference_entropy_before_issue17(label)
