package views

import (
	"fmt"

	"github.com/beckon-app/beckon/models"
)

// TokenForm names a new API token.
type TokenForm struct {
	Name   string
	Errors FieldErrors
}

// TokenRevokePath is where a token's Revoke posts.
func TokenRevokePath(t models.APIToken) string {
	return fmt.Sprintf("/settings/tokens/%d/revoke", t.ID)
}
