// Command beckon is Beckon's single binary: the web server (beckon serve, the
// default) and the operator's commands that act on the same database.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "beckon:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run dispatches to the command named by args[0] ("serve" when none).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", name)}
	}
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	return cmd(ctx, env, name, args)
}

const usage = `usage: beckon [command] [flags]

commands:
  serve                                  run the web server (the default)
  migrate                                apply database migrations
  createuser --email E --username U [--name N] [--staff] [--superuser]
                                         create a verified user; password read from stdin
  grant manage_invites E                 let the user with email E use the staff dashboard
  expire-invitations                     run the invitation expiry sweep once
  sweep                                  run every periodic job once (expiry, earned invitations)
  add-invites N [--only-empty]           add N invitations to every limited user
  topoff-invites N                       raise every limited user to N remaining
  infinite-invites [--off N]             give everyone unlimited invitations (--off: a plain N)
  token create E                         print a new API token for the user with email E
  version                                print the version and the newest schema it runs on
  backup FILE                            write a consistent copy of the SQLite database to a new FILE
  db copy --to postgres://...            copy the SQLite database into an empty PostgreSQL database
  suspend E --reason R                   suspend the user with email E (signed out, tokens and invitations revoked)
  unsuspend E                            let the suspended user with email E sign in again

Every command reads the BECKON_* environment variables; run "beckon serve -h" for them.
BECKON_DB is a SQLite file, or a postgres:// URL for PostgreSQL.
`
