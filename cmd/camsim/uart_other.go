//go:build !linux

package main

const syscallNoCTTY = 0
