package fetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
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
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking networks, often internal
}

// embedsIPv4 are the IPv6 ranges that carry an IPv4 address in their last
// 32 bits: NAT64 (RFC 6052, 8215) and the old IPv4-compatible form.
var embedsIPv4 = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("::/96"),
}

func isPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range privateNets {
		if p.Contains(ip) {
			return true
		}
	}
	for _, p := range embedsIPv4 {
		if p.Contains(ip) {
			b := ip.As16()
			return isPrivate(netip.AddrFrom4([4]byte(b[12:])))
		}
	}
	return ip.IsMulticast()
}

// denyPrivate returns a dialer Control function that refuses connections to
// private addresses other than allowed ones (the seeds' own address and
// port). It runs on the address being connected to, after DNS, so neither
// a redirect nor DNS rebinding gets past it.
func denyPrivate(allowed map[netip.AddrPort]bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return policyError{fmt.Errorf("refused to connect to %s: unreadable address", address)}
		}
		return refuse(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), allowed, "connect to")
	}
}

func refuse(ap netip.AddrPort, allowed map[netip.AddrPort]bool, what string) error {
	if isPrivate(ap.Addr()) && !allowed[ap] {
		return policyError{fmt.Errorf("refused to %s private address %s (--deny-private)", what, ap)}
	}
	return nil
}

// proxyDenyPrivate wraps a transport's Proxy function: a request that
// goes through a proxy is refused when its target resolves to a private
// address, since the dial check then only sees the proxy's address.
func proxyDenyPrivate(proxy func(*http.Request) (*url.URL, error), allowed map[netip.AddrPort]bool) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		p, err := proxy(req)
		if p == nil || err != nil {
			return p, err
		}
		for _, ap := range resolve(req.Context(), req.URL) {
			if err := refuse(ap, allowed, "send a request through the proxy to"); err != nil {
				// As the dial check's refusal: no connection can be made.
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
			}
		}
		return p, nil
	}
}

// resolve returns the addresses and port of u's host.
func resolve(ctx context.Context, u *url.URL) []netip.AddrPort {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	pn, _ := strconv.ParseUint(port, 10, 16)
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(pn))}
	}
	addrs, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a.Unmap(), uint16(pn)))
	}
	return out
}

// seedAddrs resolves the seeds' hosts: their addresses, at the seeds'
// ports, stay reachable when private addresses are denied.
func seedAddrs(ctx context.Context, seeds []string) map[netip.AddrPort]bool {
	allowed := map[netip.AddrPort]bool{}
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil {
			continue
		}
		for _, ap := range resolve(ctx, u) {
			allowed[ap] = true
		}
	}
	return allowed
}
