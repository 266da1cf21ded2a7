package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// command is one subcommand of the binary.
type command func(ctx context.Context, env *environment, name string, args []string) error

var commands = map[string]command{
	"serve":              serve,
	"migrate":            migrateCmd,
	"createuser":         createUserCmd,
	"grant":              grantCmd,
	"expire-invitations": expireInvitationsCmd,
	"sweep":              sweepCmd,
	"add-invites":        addInvitesCmd,
	"topoff-invites":     topOffInvitesCmd,
	"infinite-invites":   infiniteInvitesCmd,
	"token":              tokenCmd,
	"version":            versionCmd,
	"backup":             backupCmd,
	"db":                 dbCmd,
	"suspend":            suspendCmd,
	"unsuspend":          unsuspendCmd,
}

// openFromEnv opens the app that the BECKON_* variables describe, for the
// commands other than serve (which also takes them as flags).
func openFromEnv(ctx context.Context, env *environment) (*app, error) {
	cfg, _, err := parseConfig("beckon", nil, env.getenv, env.stderr)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return openApp(ctx, cfg, logger)
}

// newFlags is a flag set whose errors are usage errors, written to stderr.
func newFlags(env *environment, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("beckon "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	return nil
}

// migrateCmd applies the migrations (every command does on open; this one
// does only that).
func migrateCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) > 0 {
		return usageError{errors.New("usage: beckon migrate")}
	}
	cfg, _, err := parseConfig("beckon", nil, env.getenv, env.stderr)
	if err != nil {
		return err
	}
	db, err := models.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := models.Migrate(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.stdout, "database is up to date")
		return nil
	}
	fmt.Fprintf(env.stdout, "applied %d migrations: %s\n", len(applied), strings.Join(applied, ", "))
	return nil
}

// createUserCmd creates a user whose address the operator vouches for.
func createUserCmd(ctx context.Context, env *environment, name string, args []string) error {
	fs := newFlags(env, name)
	email := fs.String("email", "", "the user's email address (required)")
	username := fs.String("username", "", "the user's username (required)")
	display := fs.String("name", "", "display name")
	staff := fs.Bool("staff", false, "give the staff flag")
	superuser := fs.Bool("superuser", false, "give the superuser flag")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	password, err := readPassword(env.stdin)
	if err != nil {
		return usageError{err}
	}
	nu := models.NewUser{
		Email: strings.TrimSpace(*email), Username: models.NormalizeUsername(*username), Name: strings.TrimSpace(*display),
		Password: password, Staff: *staff || *superuser, Superuser: *superuser, Verified: true,
	}
	var v models.Validator
	models.CheckSignup(&v, nu.Email, nu.Username, nu.Password)
	models.CheckName(&v, "name", nu.Name)
	if !v.Valid() {
		var msgs []string
		for _, field := range []string{"email", "username", "name", "password"} {
			if msg, ok := v.Errors[field]; ok {
				msgs = append(msgs, field+": "+msg)
			}
		}
		return usageError{errors.New(strings.Join(msgs, "; "))}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.store.Users.Create(ctx, nu)
	switch {
	case errors.Is(err, models.ErrDuplicateEmail):
		return usageError{fmt.Errorf("an account with email %s already exists", nu.Email)}
	case errors.Is(err, models.ErrDuplicateUsername):
		return usageError{fmt.Errorf("the username %s is taken", nu.Username)}
	case err != nil:
		return err
	}
	role := "member"
	if u.Superuser {
		role = "superuser"
	} else if u.Staff {
		role = "staff"
	}
	fmt.Fprintf(env.stdout, "created %s @%s <%s> (id %d)\n", role, u.Username, u.Email, u.ID)
	return nil
}

// readPassword reads one line from r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("give the password as one line on standard input")
	}
	return line, nil
}

// grantCmd handles "grant manage_invites E".
func grantCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) != 2 || args[0] != "manage_invites" {
		return usageError{errors.New("usage: beckon grant manage_invites EMAIL")}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.store.Users.GrantManageInvites(ctx, args[1])
	if errors.Is(err, models.ErrNoRecord) {
		return usageError{fmt.Errorf("no account has the email %s", args[1])}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "granted manage_invites to @%s <%s>\n", u.Username, u.Email)
	return nil
}

// expireInvitationsCmd runs the expiry sweep once.
func expireInvitationsCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) > 0 {
		return usageError{errors.New("usage: beckon expire-invitations")}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	n, err := a.store.Invitations.ExpireDue(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "expired %s\n", views.Plural(n, "invitation", "invitations"))
	return nil
}

// sweepCmd runs every periodic job once (what the server does every minute).
func sweepCmd(ctx context.Context, env *environment, name string, args []string) error {
	if len(args) > 0 {
		return usageError{errors.New("usage: beckon sweep")}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	res, err := sweep(ctx, a.store)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "expired %s; reminded %s; earned invitations for %s through %s; deleted the bodies of %s\n",
		views.Plural(res.Expired, "invitation", "invitations"), views.Plural(res.Reminded, "invitation", "invitations"),
		views.Plural(res.Earned.Inviters, "member", "members"),
		views.Plural(res.Earned.Invitees, "invitee", "invitees"),
		views.Plural(res.Pruned, "old email", "old emails"))
	return nil
}

// emailAndFlags parses the flags of a command that takes one email address,
// before or after its flags ("suspend E --reason R" or "suspend --reason R E").
func emailAndFlags(fs *flag.FlagSet, args []string, usage string) (string, error) {
	email := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		email, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if email == "" && fs.NArg() == 1 {
		email = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageError{errors.New(usage)}
	}
	if strings.TrimSpace(email) == "" {
		return "", usageError{errors.New(usage)}
	}
	return email, nil
}

// memberByEmail finds the account with that email address (a usage error
// when there is none).
func memberByEmail(ctx context.Context, a *app, email string) (models.User, error) {
	u, err := a.store.Users.GetByLogin(ctx, email)
	if errors.Is(err, models.ErrNoRecord) || err == nil && models.EmailKey(u.Email) != models.EmailKey(email) {
		return models.User{}, usageError{fmt.Errorf("no account has the email %s", email)}
	}
	return u, err
}

// suspendCmd handles "suspend EMAIL --reason R": the member is signed out
// everywhere and cannot sign in; their API tokens and pending invitations
// are revoked (the invitations given back).
func suspendCmd(ctx context.Context, env *environment, name string, args []string) error {
	return moderationCmd(ctx, env, name, args, "usage: beckon suspend EMAIL --reason REASON", true,
		func(a *app, u models.User, reason string) (string, error) {
			res, err := a.store.Staff.Suspend(ctx, 0, u.ID, reason)
			switch {
			case err != nil:
				return "", err
			case res.UsersChanged == 0:
				return fmt.Sprintf("@%s <%s> was already suspended; nothing changed", u.Username, u.Email), nil
			}
			return fmt.Sprintf("suspended @%s <%s>: revoked %s and %s", u.Username, u.Email,
				views.Plural(res.InvitationsRevoked, "pending invitation", "pending invitations"), views.Plural(res.TokensRevoked, "API token", "API tokens")), nil
		})
}

// unsuspendCmd handles "unsuspend EMAIL [--reason R]": the member can sign
// in again; nothing the suspension revoked comes back.
func unsuspendCmd(ctx context.Context, env *environment, name string, args []string) error {
	return moderationCmd(ctx, env, name, args, "usage: beckon unsuspend EMAIL [--reason REASON]", false,
		func(a *app, u models.User, reason string) (string, error) {
			res, err := a.store.Staff.Unsuspend(ctx, 0, u.ID, reason)
			switch {
			case err != nil:
				return "", err
			case res.UsersChanged == 0:
				return fmt.Sprintf("@%s <%s> was not suspended; nothing changed", u.Username, u.Email), nil
			}
			return fmt.Sprintf("unsuspended @%s <%s>: they can sign in again", u.Username, u.Email), nil
		})
}

// moderationCmd reads "EMAIL [--reason R]" (the reason required or not),
// opens the database, finds the member and prints the line act returns.
func moderationCmd(ctx context.Context, env *environment, name string, args []string, usage string, required bool,
	act func(a *app, u models.User, reason string) (string, error)) error {
	fs := newFlags(env, name)
	help := "why (optional; written to the audit log)"
	if required {
		help = "why (required; written to the audit log)"
	}
	reason := fs.String("reason", "", help)
	email, err := emailAndFlags(fs, args, usage)
	if err != nil {
		return err
	}
	r := models.TrimReason(*reason)
	var v models.Validator
	models.CheckReason(&v, "reason", r, required)
	if !v.Valid() {
		return usageError{fmt.Errorf("--reason: %s", v.Errors["reason"])}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := memberByEmail(ctx, a, email)
	if err != nil {
		return err
	}
	line, err := act(a, u, r)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, line)
	return nil
}
