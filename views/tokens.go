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

func tokenRevokePath(t models.APIToken) string {
	return fmt.Sprintf("/settings/tokens/%d/revoke", t.ID)
}
