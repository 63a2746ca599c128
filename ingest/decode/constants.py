"""Numbers from the wire: link types, ethertypes, IP protocols."""

from __future__ import annotations

# LINKTYPE_* values (pcap/pcapng interface link types).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW_OPENBSD = 12  # some platforms write DLT_RAW's value instead of LINKTYPE_RAW
LINKTYPE_RAW_BSD = 14
LINKTYPE_PPP_HDLC = 50
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
RAW_LINKTYPES = (LINKTYPE_RAW, LINKTYPE_RAW_OPENBSD, LINKTYPE_RAW_BSD, LINKTYPE_IPV4, LINKTYPE_IPV6)

# Ethertypes, plus two pseudo values the link-layer decoders return.
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
ETH_PPPOE_SESSION = 0x8864
ETH_FABRICPATH = 0x8903  # Cisco FabricPath: a whole classic Ethernet frame behind a 16-byte header
ETH_MPLS = (0x8847, 0x8848)
ETH_TRANSPARENT = 0x6558  # transparent Ethernet bridging (GRE, Geneve)
ETH_ERSPAN_1_2 = 0x88BE
ETH_ERSPAN_3 = 0x22EB
ETH_PPP_GRE = 0x880B
ETH_RAW_IP = -1  # IP of either version: the version nibble decides
ETH_FRAME = -2  # an Ethernet frame follows (decapsulated tunnels)
ETH_NOT_IP = 0  # something else (LLC, unknown PPP protocol…)

# PPP protocol numbers to ethertypes.
PPP_PROTOCOLS = {0x0021: ETH_IPV4, 0x0057: ETH_IPV6}

# BSD address families in NULL/LOOP headers (IPv6 differs per OS).
AF_INET = 2
AF_INET6 = (10, 24, 28, 30)

# IP protocols.
IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60
IPPROTO_MOBILITY = 135
IPPROTO_HIP = 139
IPPROTO_SHIM6 = 140
# IPv6 extension headers whose length byte counts 8-octet units beyond the first.
IPV6_EXT_8 = (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_MOBILITY, IPPROTO_HIP, IPPROTO_SHIM6)
