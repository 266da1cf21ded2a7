package main

import (
	"io"
	"testing"
)

func TestWebhookAllowPrivate(t *testing.T) {
	c, _, err := parseConfig("serve", nil, env(), io.Discard)
	if err != nil || c.WebhookAllowPrivate {
		t.Fatalf("default: %v, %v; want false", c.WebhookAllowPrivate, err)
	}
	c, _, err = parseConfig("serve", nil, env("BECKON_WEBHOOK_ALLOW_PRIVATE", "true"), io.Discard)
	if err != nil || !c.WebhookAllowPrivate {
		t.Fatalf("true: %v, %v", c.WebhookAllowPrivate, err)
	}
	c, _, err = parseConfig("serve", []string{"-webhook-allow-private=false"}, env("BECKON_WEBHOOK_ALLOW_PRIVATE", "true"), io.Discard)
	if err != nil || c.WebhookAllowPrivate {
		t.Fatalf("the flag's false: %v, %v", c.WebhookAllowPrivate, err)
	}
	if _, _, err := parseConfig("serve", nil, env("BECKON_WEBHOOK_ALLOW_PRIVATE", "maybe"), io.Discard); err == nil {
		t.Fatal("maybe is accepted")
	}
}
