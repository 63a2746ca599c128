"""DNS analysis: wire decoding, DNS over UDP and TCP, and Zeek dns.log records per transaction."""

from .answers import format_answer
from .config import DnsConfig
from .extract import iter_messages
from .tracker import DnsTracker
from .wire import DnsError, Edns, Message, Question, ResourceRecord, decode_message

__all__ = [
    "DnsConfig",
    "DnsError",
    "DnsTracker",
    "Edns",
    "Message",
    "Question",
    "ResourceRecord",
    "decode_message",
    "format_answer",
    "iter_messages",
]
