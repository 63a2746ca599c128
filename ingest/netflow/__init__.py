"""The flow collector: NetFlow v5, v9 and IPFIX over UDP → ``conn`` records (``source: netflow``).

``decode`` (pure: datagrams → flow columns, templates and sequence state per exporter), ``records``
(flow columns → conn records), ``collector`` (the UDP socket, batching), ``config`` (``inputs.netflow``).
"""

from .collector import Collector
from .config import NetflowSection, netflow_settings
from .decode import Decoder, FlowBatch
from .records import conn_records

__all__ = ["Collector", "Decoder", "FlowBatch", "NetflowSection", "conn_records", "netflow_settings"]
