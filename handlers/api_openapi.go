package handlers

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes the JSON API (OpenAPI 3.1). Tests check that it
// names every route under /api/v1 and that every answer matches it.
//
//go:embed openapi.json
var openAPIDocument []byte

// apiOpenAPI handles GET /api/v1/openapi.json.
func (h *Handler) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(openAPIDocument)
}
