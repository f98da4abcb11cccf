//go:build linux

package contract

import (
	"os/exec"
	"syscall"
)

func init() {
	// The server gets SIGKILL if this test process dies.
	sysProcAttr = func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	// node --test runs each file in a child process: give the run its own
	// process group and kill the whole group on timeout.
	prepareNode = func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
}
