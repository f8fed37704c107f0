// Package tap turns a captured frame into a fixed-size Meta: the first stage
// of the pipeline after a capture source (pcap file, AF_PACKET, AF_XDP).
//
// A Decoder walks the link layer (Ethernet, Linux cooked, raw IP, BSD
// loopback, PPP), VLAN stacks and the IP/L4 headers of the innermost packet.
// Outer layers that only say where the packet was mirrored become the tap
// identity (TapType, TapPort, VLAN, outer addresses), which is part of the
// flow key downstream.
//
// Invariants: Decode allocates nothing and never panics on malformed input;
// it returns a package-level sentinel error and the caller counts the drop
// by reason. Meta.Payload aliases the frame passed to Decode and is valid only
// as long as that frame is.
package tap
