package handlers_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestStaticFilesAreHashedCachedAndCompressed: pages link to names that carry
// a hash of the content, served as immutable for a year and gzipped for
// clients that accept it; the plain names keep a short lifetime.
func TestStaticFilesAreHashedCachedAndCompressed(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	page := c.get("/")
	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(page.body, -1)
	var css, js string
	for _, l := range links {
		switch {
		case strings.HasSuffix(l[1], ".css"):
			css = l[1]
		case strings.HasSuffix(l[1], ".js"):
			js = l[1]
		}
	}
	hashed := regexp.MustCompile(`^/static/(css/app|js/htmx\.min|js/app)\.[0-9a-f]{10}\.(css|js)$`)
	if !hashed.MatchString(css) || !hashed.MatchString(js) {
		t.Fatalf("the page links to %q and %q; want content-hashed names", css, js)
	}
	plain := c.get("/static/css/app.css")
	got := c.get(css)
	expect(t, "hashed css", got, http.StatusOK)
	if got.body != plain.body || len(got.body) < 1000 {
		t.Errorf("the hashed name serves %d bytes, the plain one %d", len(got.body), len(plain.body))
	}
	if cc := got.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("hashed name: Cache-Control %q", cc)
	}
	if cc := plain.header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
		t.Errorf("plain name: Cache-Control %q; want a short lifetime", cc)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}

	// gzip, for a client that asks (Go's client then leaves the body as sent).
	zipped := c.get(js, "Accept-Encoding", "gzip, deflate, br")
	if zipped.header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q, Vary %q", zipped.header.Get("Content-Encoding"), zipped.header.Get("Vary"))
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	raw := c.get(js, "Accept-Encoding", "identity")
	if raw.header.Get("Content-Encoding") != "" || !bytes.Equal(unzipped, []byte(raw.body)) {
		t.Errorf("the gzipped body does not unzip to the file (%d and %d bytes)", len(unzipped), len(raw.body))
	}
	if len(zipped.body) >= len(raw.body)/2 {
		t.Errorf("gzip made %d bytes of %d", len(zipped.body), len(raw.body))
	}
	if c.get(js, "Accept-Encoding", "gzip;q=0").header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}

	// Revalidation by ETag, and names that are not files.
	if again := c.get(css, "If-None-Match", got.header.Get("ETag")); again.status != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d; want 304", again.status)
	}
	for _, path := range []string{"/static/css/app.0000000000.css", "/static/static.go", "/static/css/"} {
		expect(t, path, c.get(path), http.StatusNotFound)
	}
}
