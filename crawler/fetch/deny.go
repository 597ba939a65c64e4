package fetch

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// privateNets are the address ranges a public page must not steer a crawl
// into: the user's own machine and network, and cloud metadata services.
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, metadata (169.254.169.254)
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),  // unique local
	netip.MustParsePrefix("fe80::/10"), // link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

func isPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range privateNets {
		if p.Contains(ip) {
			return true
		}
	}
	return ip.IsMulticast()
}

// denyPrivate returns a dialer Control function that refuses connections to
// private addresses other than allowed ones. It runs on the address being
// connected to, after DNS, so neither a redirect nor DNS rebinding gets
// past it.
func denyPrivate(allowed map[netip.Addr]bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return policyError{fmt.Errorf("refused to connect to %s: unreadable address", address)}
		}
		ip := ap.Addr().Unmap()
		if isPrivate(ip) && !allowed[ip] {
			return policyError{fmt.Errorf("refused to connect to private address %s (--deny-private)", ip)}
		}
		return nil
	}
}

// seedAddrs resolves the seeds' hosts: their addresses stay reachable when
// private addresses are denied.
func seedAddrs(ctx context.Context, seeds []string) map[netip.Addr]bool {
	allowed := map[netip.Addr]bool{}
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil {
			continue
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			allowed[ip.Unmap()] = true
			continue
		}
		addrs, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
		for _, a := range addrs {
			allowed[a.Unmap()] = true
		}
	}
	return allowed
}
