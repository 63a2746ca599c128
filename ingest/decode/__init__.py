"""Packet decoding: captured frames (RawBatch) to innermost IP packets (PacketBatch).

A numpy fast path takes ordinary Ethernet/SLL/raw-IP TCP, UDP and ICMP frames; a per-packet slow
path takes everything else (other link types, VLAN stacks, PPPoE, MPLS, IP options and IPv6
extension headers, fragments, GRE/ERSPAN/VXLAN/Geneve/Teredo/IP-in-IP tunnels, malformed frames).
A VXLAN, Geneve or Teredo frame also gives a row for its UDP packet (``PacketBatch.encap``), so that
the flow meter logs the encapsulating connection as Zeek does; ``services.TunnelServices`` names its
service.
Counters: ``decode.non_ip``, ``decode.fragments``, ``decode.reassembled``, ``malformed.<reason>``,
``dropped.fragment_<reason>``.
"""

from .columns import PacketBatch
from .config import DecodeConfig
from .decoder import Decoder

__all__ = ["DecodeConfig", "Decoder", "PacketBatch"]
