package fn

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
)

// DecodeJSON decodes the request body into v. It refuses a body that is not one JSON value,
// that has a non-JSON content type, or whose fields have the wrong types, with a 400 whose
// message says what is wrong. Unknown fields are ignored so that clients may be newer than us.
func DecodeJSON(req *Request, v any) error {
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			return Errorf(415, "unsupported_media_type", "the body must be application/json")
		}
	}
	if len(bytes.TrimSpace(req.Body)) == 0 {
		return BadRequest("invalid_json", "the request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return BadRequest("invalid_json", "field %q has the wrong type", te.Field)
		}
		return BadRequest("invalid_json", "the body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("invalid_json", "the body holds more than one JSON value")
	}
	return nil
}
