package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// WalkRoutes calls fn for every route the router serves, for tests.
func WalkRoutes(h http.Handler, fn func(method, route string)) error {
	return chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		fn(method, route)
		return nil
	})
}
