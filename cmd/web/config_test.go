package main

import (
	"io"
	"net/netip"
	"reflect"
	"testing"
)

func TestTrustedProxiesAndJoinRate(t *testing.T) {
	c, _, err := parseConfig("serve", nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.JoinRate != 20 || c.TrustedProxies != nil {
		t.Errorf("defaults: join rate %d, proxies %v; want 20 and none", c.JoinRate, c.TrustedProxies)
	}
	c, _, err = parseConfig("serve", []string{"-join-rate", "0"},
		env("BECKON_TRUSTED_PROXIES", " 10.1.2.3/8, 127.0.0.1 ,fd00::/8,::ffff:192.168.0.0/112", "BECKON_JOIN_RATE", "7"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("192.168.0.0/16"),
	}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("proxies %v; want %v", c.TrustedProxies, want)
	}
	if c.JoinRate != 0 {
		t.Errorf("join rate %d; want the flag's 0", c.JoinRate)
	}
}
