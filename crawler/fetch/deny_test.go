package fetch

import (
	"net/netip"
	"testing"
)

func TestPrivateRanges(t *testing.T) {
	for _, c := range []struct {
		ip      string
		private bool
	}{
		{"10.1.2.3", true}, {"169.254.169.254", true}, {"198.18.0.1", true}, {"198.19.255.255", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
		{"::a00:1", true},            // IPv4-compatible 10.0.0.1
		{"::ffff:192.168.1.1", true}, // IPv4-mapped
		{"8.8.8.8", false}, {"2001:4860:4860::8888", false}, {"198.20.0.1", false},
	} {
		if got := isPrivate(netip.MustParseAddr(c.ip)); got != c.private {
			t.Errorf("isPrivate(%s) = %v, want %v", c.ip, got, c.private)
		}
	}
	allowed := map[netip.AddrPort]bool{netip.MustParseAddrPort("127.0.0.1:8080"): true}
	if err := refuse(netip.MustParseAddrPort("127.0.0.1:8080"), allowed, "connect to"); err != nil {
		t.Errorf("the seed's own address and port refused: %v", err)
	}
	if err := refuse(netip.MustParseAddrPort("127.0.0.1:22"), allowed, "connect to"); err == nil {
		t.Error("another port of the seed's address allowed")
	}
}
