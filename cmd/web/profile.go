//go:build profile

package main

// Built with -tags profile, the server also answers net/http/pprof on
// BECKON_PPROF_ADDR (default 127.0.0.1:6060), for profiling `beckon serve`
// under the load of ../shared/perf (docs/performance.md). Release builds
// have no such listener.

import (
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("BECKON_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }()
}
