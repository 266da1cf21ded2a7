package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/beckon-app/beckon/models"
)

// WalkRoutes calls fn for every route the router serves, for tests.
func WalkRoutes(h http.Handler, fn func(method, route string)) error {
	return chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		fn(method, route)
		return nil
	})
}

// ErrorCodes lists every error code an answer can carry: the models' and the
// HTTP layer's, each once.
func ErrorCodes() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range append(models.DeclaredErrors(), httpErrors...) {
		if !seen[e.Code] {
			seen[e.Code] = true
			out = append(out, e.Code)
		}
	}
	return out
}
