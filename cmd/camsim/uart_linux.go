package main

import "syscall"

// syscallNoCTTY keeps a terminal device from becoming camsim's controlling
// terminal.
const syscallNoCTTY = syscall.O_NOCTTY
