package handlers

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	none := &Handler{}
	proxied := &Handler{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}}}
	for _, tc := range []struct {
		name   string
		h      *Handler
		remote string
		xff    []string
		want   string
	}{
		{"no proxies: header ignored", none, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"no proxies: IPv6", none, "[2001:db8::1]:4000", nil, "2001:db8::1"},
		{"no proxies: mapped IPv4", none, "[::ffff:203.0.113.5]:4000", nil, "203.0.113.5"},
		{"untrusted peer: header ignored", proxied, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"trusted peer, no header", proxied, "10.0.0.2:4000", nil, "10.0.0.2"},
		{"one proxy", proxied, "10.0.0.2:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"forged entries to the left", proxied, "10.0.0.2:4000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.7"}, "198.51.100.7"},
		{"two proxies", proxied, "10.0.0.2:4000", []string{"198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"several headers", proxied, "10.0.0.2:4000", []string{"1.1.1.1", "198.51.100.7", "10.9.9.9"}, "198.51.100.7"},
		{"entry with a port", proxied, "10.0.0.2:4000", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"IPv6 entry with a port", proxied, "[fd00::1]:4000", []string{"[2001:db8::7]:5555"}, "2001:db8::7"},
		{"all trusted: the leftmost", proxied, "10.0.0.2:4000", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"garbage stops the walk", proxied, "10.0.0.2:4000", []string{"1.1.1.1, junk, 10.2.2.2"}, "10.2.2.2"},
		{"empty header", proxied, "10.0.0.2:4000", []string{""}, "10.0.0.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.h.clientIP(r); got != tc.want {
			t.Errorf("%s: clientIP = %q; want %q", tc.name, got, tc.want)
		}
	}
}

// A limiter keeps at most maxLimiterKeys keys however many come; a limit of
// 0 is no limiter, which allows everything.
func TestLimiterIsBounded(t *testing.T) {
	l := newLimiter(1, time.Hour)
	now := time.Unix(1_000_000, 0)
	if ok, _ := l.allow("target", now); !ok {
		t.Fatal("first event refused")
	}
	for i := range maxLimiterKeys + 10 {
		l.allow(strconv.Itoa(i)+strings.Repeat("x", 100), now)
	}
	if n := len(l.hits); n > maxLimiterKeys {
		t.Errorf("%d keys kept; want at most %d", n, maxLimiterKeys)
	}
	if newLimiter(0, time.Hour) != nil {
		t.Error("a limit of 0 is not off")
	}
	var off *limiter
	if ok, _ := off.allow("x", now); !ok {
		t.Error("an off limiter refused")
	}
}
