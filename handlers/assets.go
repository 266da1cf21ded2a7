package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/beckon-app/beckon/views"
)

// assets serves the embedded static files. Each file is also served under a
// name that carries a hash of its content (css/app.1a2b3c4d5e.css), which
// pages link to and browsers may keep for a year without asking again: a new
// build that changes the file changes its name. Text files are gzipped once,
// at start, for clients that accept it. The plain names still work (with a
// short cache lifetime) for anything that links to them from outside.
type assets struct {
	files   map[string]*asset // by path under /static/, hashed and plain names alike
	hashed  map[string]string // plain name ("css/app.css") -> URL path of its hashed name
	started time.Time
}

type asset struct {
	body      []byte
	gzipped   []byte // nil when gzip would not make it smaller
	ctype     string
	etag      string
	immutable bool // served under its hashed name
}

// newAssets reads every file of files and prepares both of its names.
func newAssets(files fs.FS) (*assets, error) {
	a := &assets{files: map[string]*asset{}, hashed: map[string]string{}, started: time.Now()}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, ".go") {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:5])
		ext := path.Ext(name)
		f := asset{body: body, ctype: mime.TypeByExtension(ext), etag: `"` + hash + `"`}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		if compressible(f.ctype) {
			f.gzipped = gzipped(body)
		}
		plain, immutable := f, f
		immutable.immutable = true
		hashedName := strings.TrimSuffix(name, ext) + "." + hash + ext
		a.files[name] = &plain
		a.files[hashedName] = &immutable
		a.hashed[name] = "/static/" + hashedName
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read static files: %w", err)
	}
	return a, nil
}

// views is the asset paths a page links to.
func (a *assets) views() views.Assets {
	return views.Assets{CSS: a.hashed["css/app.css"], HTMX: a.hashed["js/htmx.min.js"], App: a.hashed["js/app.js"], Icon: a.hashed["img/favicon.svg"]}
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "svg") || strings.Contains(ctype, "json")
}

func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// serve answers GET and HEAD of a static file; anything else, and a folder or
// an unknown name, is notFound (so no folder is ever listed).
func (a *assets) serve(notFound http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := a.files[strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")]
		if !ok {
			notFound(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", f.ctype)
		hd.Set("ETag", f.etag)
		hd.Add("Vary", "Accept-Encoding")
		if f.immutable {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "public, max-age=3600")
		}
		body := f.body
		if f.gzipped != nil && acceptsGzip(r) {
			hd.Set("Content-Encoding", "gzip")
			body = f.gzipped
		}
		// ServeContent answers conditional and range requests; the
		// modification time is the start of this process, as the files
		// are part of the binary.
		http.ServeContent(w, r, "", a.started, bytes.NewReader(body))
	})
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") || strings.Contains(params, "q=0.")
		}
	}
	return false
}
