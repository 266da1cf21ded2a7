package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// rssMB is this process's resident memory in MiB, from /proc (0 elsewhere).
// The server runs in this process, so it is the server's memory plus the
// load generator's.
func rssMB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}

func numCPU() int { return runtime.NumCPU() }
