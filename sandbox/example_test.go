package sandbox_test

import (
	"context"
	"fmt"
	"log"

	"github.com/spokehq/spoke/sandbox"
)

// Example runs one HubSpot-style custom code action.
func Example() {
	pool, err := sandbox.NewPool(sandbox.Config{
		APIURL:       "http://127.0.0.1:8080", // Spoke's own API, as the sandbox reaches it
		SpareWorkers: -1,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	res, err := pool.Invoke(context.Background(), sandbox.Invocation{
		Runtime: "NODE20X",
		Code: `exports.main = async (event, callback) => {
  console.log('greeting', event.inputFields.firstname);
  callback({ outputFields: { greeting: 'Hello, ' + event.inputFields.firstname + '!', key: process.env.API_KEY.length } });
};`,
		Version:   "action-1:v1",
		AccountID: "portal-1",
		Event: sandbox.Event{
			PortalID: 1, ActionDefinitionID: 2, ObjectType: "CONTACT", ObjectID: 3,
			InputFields: map[string]any{"firstname": "Ada"},
			CallbackID:  "ap-1-2-3",
		},
		Secrets: map[string]string{"API_KEY": "very-secret"},
	})
	if err != nil {
		log.Fatal(err) // the pool could not run the code at all
	}
	fmt.Println(res.Status, res.OutputFields["greeting"], res.OutputFields["key"], res.Retryable())
	// Output: SUCCESS Hello, Ada! 11 false
}
