// Package static embeds the site's static files (the built CSS, the vendored
// htmx and the images) so that the binary serves them itself.
package static

import "embed"

// Files is the static folder, served under /static/.
//
//go:embed css js img
var Files embed.FS
