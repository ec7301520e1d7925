//go:build !linux

package main

import "syscall"

// childAttr: without Linux's Pdeathsig, children are stopped by the bench's
// own cleanup only.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
