package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestInviteReminderSetting(t *testing.T) {
	for _, tc := range []struct {
		vars, args []string
		want       time.Duration
	}{
		{nil, nil, 48 * time.Hour},
		{[]string{"BECKON_INVITE_REMINDER", "0"}, nil, 0},
		{[]string{"BECKON_INVITE_REMINDER", "24h"}, []string{"-invite-reminder", "72h"}, 72 * time.Hour},
	} {
		c, _, err := parseConfig("serve", tc.args, env(tc.vars...), io.Discard)
		if err != nil || c.InviteReminder != tc.want {
			t.Errorf("%v %v: %v, %v; want %v", tc.vars, tc.args, c.InviteReminder, err, tc.want)
		}
	}
	for _, bad := range []string{"-1h", "soon", "2 days"} {
		_, _, err := parseConfig("serve", nil, env("BECKON_INVITE_REMINDER", bad), io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "BECKON_INVITE_REMINDER") {
			t.Errorf("BECKON_INVITE_REMINDER=%s: %v; want a usage error naming it", bad, err)
		}
	}
}
