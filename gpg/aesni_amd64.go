//go:build !purego

package gpg

import "golang.org/x/sys/cpu"

// haveAESNI: the CPU has the AES instructions encryptBlocks8 uses.
var haveAESNI = cpu.X86.HasAES && cpu.X86.HasSSE2

// encryptBlocks8 encrypts the eight 16-byte blocks at src into dst.
//
//go:noescape
func encryptBlocks8(rounds int, keys *byte, dst, src *byte)
