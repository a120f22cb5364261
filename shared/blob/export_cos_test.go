//go:build !wxfn_no_cos

package blob

// DisableCOSCRC turns off the COS SDK's upload CRC check, which needs a header the fake does
// not send.
func DisableCOSCRC(s Store) { s.(*cosStore).client.Conf.EnableCRC = false }
