// Package tap turns a captured frame into a fixed-size Meta: the first stage
// of the pipeline after a capture source (pcap file, AF_PACKET, AF_XDP).
//
// A Decoder walks the link layer (Ethernet, Linux cooked v1/v2, raw IP, BSD
// loopback, PPP, Cisco HDLC, PPI), VLAN stacks (802.1Q, 802.1ad 0x88A8 and
// 0x9100), MPLS label stacks (IP or an Ethernet pseudowire below), PPPoE,
// and the tunnels mirrors and overlays use: GRE (key, sequence, checksum,
// routing; transparent Ethernet bridging), ERSPAN I, II and III (with III's
// platform subheader), WCCP redirection, PPTP's enhanced GRE, VXLAN (UDP 4789
// and 8472 by default, configurable), VXLAN-GPE with NSH, Geneve with
// options, MPLS-in-UDP, IPIP, 6in4, 4in6 and 6in6. The innermost IP packet is
// analyzed; the outermost tunnel becomes the tap identity (TapType, TapPort,
// OuterSrc/OuterDst) and the innermost VLAN tag anywhere in the frame is
// VLAN. Tap identity is part of the flow key downstream. NoDecap keeps the
// outer packet as the flow instead.
//
// The decodes are checked packet by packet against tcpdump's for the tunnel
// captures of the shared corpus (tcpdump_test.go lists them).
//
// Invariants: Decode allocates nothing and never panics on malformed input;
// it returns a package-level sentinel error and the caller counts the drop
// by reason (on error Meta holds what was decoded so far). Meta.Payload
// aliases the frame passed to Decode and is valid only as long as that frame
// is.
package tap
