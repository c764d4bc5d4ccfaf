package origin

import (
	"net/http"
	"net/url"
	"strings"
)

// Same allows requests without an Origin header and those whose Origin's
// host (with port) is the request's Host, ignoring case.
func Same(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
