//go:build !amd64 || purego

package gpg

const haveAESNI = false

func encryptBlocks8(rounds int, keys *byte, dst, src *byte) {
	panic("gpg: encryptBlocks8 without AES-NI")
}
