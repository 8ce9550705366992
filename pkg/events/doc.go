// Package events writes the contract's events on the Upgrade object. Unlike client-go's
// asynchronous broadcaster, every event is created synchronously, so each one is stored before
// the process exits, with no fixed sleep to wait for a flush.
package events
