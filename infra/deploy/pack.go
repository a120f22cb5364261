package deploy

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Executable names inside the packages: Lambda's provided.al2023 runtime runs "bootstrap", an
// SCF Go1 function runs the file its handler names, which the configs set to "main".
const (
	AWSExecutable = "bootstrap"
	SCFExecutable = "main"
)

// zipTime is the modification time of every packed file, so that the same binary always
// packs to the same bytes (and `serverless deploy` sees an unchanged hash and skips it).
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteZip writes a zip archive holding one executable file, entry, at its root with mode 0755.
// The exec bit is what Lambda and SCF need to start it; archive/zip records it in the Unix
// external attributes, so no zip binary (and no particular build OS) is needed.
func WriteZip(w io.Writer, entry string, data []byte) error {
	zw := zip.NewWriter(w)
	h := &zip.FileHeader{Name: entry, Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("zip %s: %w", entry, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("zip %s: %w", entry, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip %s: %w", entry, err)
	}
	return nil
}

// Pack writes the deployment packages of one function's binary under outDir:
//
//	outDir/aws/NAME.zip   holding "bootstrap" (serverless.yml's package.artifact)
//	outDir/scf/NAME.zip   holding "main" (for the SCF console or API)
//	outDir/scf/NAME/main  the same binary unzipped (the scf CLI zips this directory itself)
//
// It returns the paths it wrote.
func Pack(outDir, name string, binary []byte) ([]string, error) {
	if !fnName.MatchString(name) {
		return nil, fmt.Errorf("pack %q: not a function name", name)
	}
	if len(binary) < 4 || !bytes.Equal(binary[:4], []byte("\x7fELF")) {
		return nil, fmt.Errorf("pack %s: the binary is not an ELF executable (build with GOOS=linux)", name)
	}
	var written []string
	for _, z := range []struct{ path, entry string }{
		{filepath.Join(outDir, "aws", name+".zip"), AWSExecutable},
		{filepath.Join(outDir, "scf", name+".zip"), SCFExecutable},
	} {
		var buf bytes.Buffer
		if err := WriteZip(&buf, z.entry, binary); err != nil {
			return written, fmt.Errorf("pack %s: %w", name, err)
		}
		if err := os.MkdirAll(filepath.Dir(z.path), 0o755); err != nil {
			return written, fmt.Errorf("pack %s: %w", name, err)
		}
		if err := writeFileAtomic(z.path, buf.Bytes(), 0o644); err != nil {
			return written, fmt.Errorf("pack %s: %w", name, err)
		}
		written = append(written, z.path)
	}
	dir := filepath.Join(outDir, "scf", name)
	// The directory is the scf CLI's whole upload: anything left in it from before would ship too.
	if err := os.RemoveAll(dir); err != nil {
		return written, fmt.Errorf("pack %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return written, fmt.Errorf("pack %s: %w", name, err)
	}
	exe := filepath.Join(dir, SCFExecutable)
	if err := writeFileAtomic(exe, binary, 0o755); err != nil {
		return written, fmt.Errorf("pack %s: %w", name, err)
	}
	return append(written, exe), nil
}
