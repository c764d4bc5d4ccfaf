package cluster

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
)

// BOSHSID is the session id of a BOSH request: the sid attribute of its
// <body/>.
func BOSHSID(_ *http.Request, body []byte) string {
	if !bytes.Contains(body, []byte("sid")) {
		return ""
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if el, ok := tok.(xml.StartElement); ok {
			for _, a := range el.Attr {
				if a.Name.Local == "sid" && a.Name.Space == "" {
					return a.Value
				}
			}
			return ""
		}
	}
}

// JSONSID is the session id of a JSON API request: ?sid= of an events
// stream, "sid" of a posted object.
func JSONSID(r *http.Request, body []byte) string {
	if body == nil {
		return r.URL.Query().Get("sid")
	}
	if !bytes.Contains(body, []byte(`"sid"`)) {
		return ""
	}
	var p struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.SID
}
