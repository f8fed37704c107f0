package chserver

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so a terminal's
// Ctrl-C reaches only the parent, and has the kernel send it SIGTERM when
// the parent dies, so a crashed parent does not leak a server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// processAlive reports whether pid is a running ClickHouse started with
// configFile. The command line is checked so that a recycled pid does not
// count.
func processAlive(pid int, configFile string) bool {
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "--config-file="+configFile)
}
