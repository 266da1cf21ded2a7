package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// The allocation commands of the seed apps, each one statement in one
// transaction, written to the audit log with no staff member (the operator).

// addInvitesCmd handles "add-invites N [--only-empty]".
func addInvitesCmd(ctx context.Context, env *environment, name string, args []string) error {
	fs := newFlags(env, name)
	onlyEmpty := fs.Bool("only-empty", false, "only users with no invitations left")
	n, err := amountArg(fs, args, 1, "usage: beckon add-invites N [--only-empty]")
	if err != nil {
		return err
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	changed, err := a.store.Staff.AddToAll(ctx, 0, n, *onlyEmpty)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "added %s to %s\n", views.Plural(n, "invitation", "invitations"), views.Plural(changed, "user", "users"))
	return nil
}

// topOffInvitesCmd handles "topoff-invites N".
func topOffInvitesCmd(ctx context.Context, env *environment, name string, args []string) error {
	n, err := amountArg(newFlags(env, name), args, 0, "usage: beckon topoff-invites N")
	if err != nil {
		return err
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	changed, err := a.store.Staff.TopOffAll(ctx, 0, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "topped off %s to %s left\n", views.Plural(changed, "user", "users"), views.Plural(n, "invitation", "invitations"))
	return nil
}

// infiniteInvitesCmd handles "infinite-invites [--off N]".
func infiniteInvitesCmd(ctx context.Context, env *environment, name string, args []string) error {
	fs := newFlags(env, name)
	off := fs.String("off", "", "turn unlimited off, giving everyone a plain allocation of N")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{errors.New("usage: beckon infinite-invites [--off N]")}
	}
	turnOff := false
	n := 0
	fs.Visit(func(f *flag.Flag) { turnOff = turnOff || f.Name == "off" })
	if turnOff {
		var ok bool
		if n, ok = models.ParseAmount(*off, 0); !ok {
			return usageError{fmt.Errorf("--off %q: %s", *off, models.AmountMessage(0))}
		}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	changed, err := a.store.Staff.SetUnlimitedAll(ctx, 0, !turnOff, n)
	if err != nil {
		return err
	}
	if turnOff {
		fmt.Fprintf(env.stdout, "gave %s a plain allocation of %s\n", views.Plural(changed, "user", "users"), views.Plural(n, "invitation", "invitations"))
		return nil
	}
	fmt.Fprintf(env.stdout, "gave %s unlimited invitations\n", views.Plural(changed, "user", "users"))
	return nil
}

// amountArg parses the flags of fs around one positional amount (flags may
// come before or after it) and checks the amount.
func amountArg(fs *flag.FlagSet, args []string, min int, usage string) (int, error) {
	// A negative amount would read as an unknown flag ("-1"): name the
	// real problem instead.
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && (a[1] >= '0' && a[1] <= '9' || a[1] == '.') {
			return 0, usageError{fmt.Errorf("%q: %s", a, models.AmountMessage(min))}
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return 0, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return 0, usageError{errors.New(usage)}
	}
	raw := rest[0]
	if err := parseFlags(fs, rest[1:]); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, usageError{errors.New(usage)}
	}
	n, ok := models.ParseAmount(raw, min)
	if !ok {
		return 0, usageError{fmt.Errorf("%q: %s", raw, models.AmountMessage(min))}
	}
	return n, nil
}
