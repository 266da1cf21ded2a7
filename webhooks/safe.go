package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/beckon-app/beckon/models"
)

// Webhook URLs are chosen by staff, and the server POSTs to them: without
// care that is a way into the operator's network (SSRF). Two checks guard
// it. CheckURL refuses, when the endpoint is saved, what is plainly wrong:
// a scheme other than https, credentials in the URL, an address literal
// that is not public. The dialer's Control function refuses, at every
// connection, an address that is not public, after name resolution, so a
// name that resolves to 127.0.0.1 (localhost, or DNS rebinding after the
// save) is refused too. Redirects are never followed and no proxy from the
// environment is used, since either would connect somewhere unchecked.

// ErrPrivateAddress is the error of a connection refused by the dialer.
var ErrPrivateAddress = errors.New("webhooks: address is not public")

// privateAddrError is a refused connection, naming the address.
type privateAddrError struct{ addr string }

func (e *privateAddrError) Error() string        { return "webhooks: address is not public: " + e.addr }
func (e *privateAddrError) Is(target error) bool { return target == ErrPrivateAddress }

// blockedPrefixes are the networks, besides what netip's predicates name,
// that are no public Internet address.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// PublicAddr reports whether a is an address on the public Internet: not
// loopback, private (RFC 1918, IPv6 ULA fc00::/7), link-local, unspecified,
// multicast, CGNAT 100.64/10 or another reserved range. An IPv6 address that
// embeds an IPv4 one (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged
// by the IPv4 address.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		if netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
			return PublicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		}
		if netip.MustParsePrefix("2002::/16").Contains(a) {
			return PublicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// maxURL bounds an endpoint's URL.
const maxURL = 2000

// CheckURL checks an endpoint's URL as typed into field of v and returns it
// trimmed. Unless allowPrivate, it must be https, and an address literal
// must be public; names are judged when connecting.
func CheckURL(v *models.Validator, field, raw string, allowPrivate bool) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		v.Check(false, field, "Enter the URL of your endpoint.")
		return raw
	}
	if len(raw) > maxURL {
		v.Check(false, field, fmt.Sprintf("Keep the URL to %d characters.", maxURL))
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || strings.ContainsAny(raw, " \t\r\n") {
		v.Check(false, field, "Enter a whole URL, such as https://example.com/hooks/beckon.")
		return raw
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		v.Check(false, field, "Use an https:// URL: webhooks carry your members' addresses.")
		return raw
	default:
		v.Check(false, field, "Use an https:// URL.")
		return raw
	}
	if u.User != nil {
		v.Check(false, field, "Leave the user name and password out of the URL; the signature proves the sender.")
		return raw
	}
	if u.Fragment != "" {
		v.Check(false, field, "Leave the #fragment out of the URL.")
		return raw
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !allowPrivate && !PublicAddr(a) {
		v.Check(false, field, "Use an address on the public Internet: "+a.String()+" is a private, loopback or reserved address.")
		return raw
	}
	return raw
}

// control is the net.Dialer Control function that refuses, once the name
// is resolved and just before connecting, any address that is not public.
func control(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &privateAddrError{addr: address}
		}
		if !PublicAddr(ap.Addr()) {
			return &privateAddrError{addr: ap.Addr().String()}
		}
		return nil
	}
}

// Timeout bounds one delivery: connecting, sending and the answer.
const Timeout = 10 * time.Second

// NewClient returns the HTTP client deliveries use: its own transport (no
// proxy from the environment), the dial-time address check, a short
// timeout, and no redirects (a 3xx answer is a failure, retried).
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = Timeout
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: control(allowPrivate)}
	t := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
