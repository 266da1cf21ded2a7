package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/beckon-app/beckon/models"
)

// tokenCmd handles "token create EMAIL [--name N]": it prints a new API token
// for that user, alone on standard output, so that a script can capture it.
func tokenCmd(ctx context.Context, env *environment, name string, args []string) error {
	const usage = "usage: beckon token create EMAIL [--name NAME]"
	if len(args) < 2 || args[0] != "create" {
		return usageError{errors.New(usage)}
	}
	fs := newFlags(env, "token create")
	tokenName := fs.String("name", "command line", "a name for the token")
	email := args[1]
	if err := parseFlags(fs, args[2:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{errors.New(usage)}
	}
	var v models.Validator
	models.CheckTokenName(&v, "name", *tokenName)
	if !v.Valid() {
		return usageError{fmt.Errorf("--name: %s", v.Errors["name"])}
	}
	a, err := openFromEnv(ctx, env)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.store.Users.GetByLogin(ctx, email)
	if errors.Is(err, models.ErrNoRecord) || err == nil && models.EmailKey(u.Email) != models.EmailKey(email) {
		return usageError{fmt.Errorf("no account has the email %s", email)}
	}
	if err != nil {
		return err
	}
	// A token acts as the account, so only one whose address is proven may
	// have one; the models refuse too, this says it in the operator's terms.
	if !u.Verified() {
		return fmt.Errorf("%s has not confirmed its email address, and API tokens are only for accounts whose address is proven", u.Email)
	}
	token, _, err := a.store.APITokens.Create(ctx, u.ID, *tokenName)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, token)
	return nil
}
