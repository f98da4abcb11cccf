package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// pythonCRMSample reaches, with the hubspot module, the parts of the CRM
// beyond records: owners, pipelines, custom object schemas, engagements
// with associations, the users object and the association counts.
const pythonCRMSample = `
import os, time
from hubspot import HubSpot
from hubspot.crm.owners import ApiException as OwnersApiException
from hubspot.crm.schemas import ObjectSchemaEgg, ObjectTypeDefinitionLabels, ObjectTypePropertyCreate
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate, PublicAssociationsForObject, PublicObjectId, AssociationSpec
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput

def main(event):
    client = HubSpot(access_token=os.getenv("secretName"))
    out = {}
    owners = client.crm.owners.owners_api.get_page(email="olga@example.com")
    owner = owners.results[0]
    out["ownerName"] = owner.first_name + " " + owner.last_name
    out["ownerByUser"] = client.crm.owners.owners_api.get_by_id(owner.user_id, id_property="userId").id == owner.id
    try:
        client.crm.owners.owners_api.get_by_id(999999)
        out["ownerMissing"] = 0
    except OwnersApiException as e:
        out["ownerMissing"] = e.status

    pipes = client.crm.pipelines.pipelines_api.get_all("deals")
    default = [p for p in pipes.results if p.id == "default"][0]
    out["stages"] = len(default.stages)
    stages = client.crm.pipelines.pipeline_stages_api.get_all("deals", "default")
    won = [s for s in stages.results if s.id == "closedwon"][0]
    out["wonProbability"] = won.metadata["probability"]

    schema = client.crm.schemas.core_api.create(object_schema_egg=ObjectSchemaEgg(
        name="machines", labels=ObjectTypeDefinitionLabels(singular="Machine", plural="Machines"),
        primary_display_property="serial", required_properties=["serial"], associated_objects=["CONTACT"],
        properties=[ObjectTypePropertyCreate(name="serial", label="Serial", type="string", field_type="text")]))
    out["schemaId"] = schema.object_type_id
    out["schemaCount"] = len(client.crm.schemas.core_api.get_all().results)
    out["schemaName"] = client.crm.schemas.core_api.get_by_id(schema.object_type_id).name
    machine = client.crm.objects.basic_api.create(schema.object_type_id, {"properties": {"serial": "M-1"}})
    out["machineSerial"] = machine.properties["serial"]

    contact = client.crm.contacts.basic_api.create({"properties": {"email": "notes@example.com"}})
    note = client.crm.objects.notes.basic_api.create(simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": "2026-01-02T03:04:05Z", "hs_note_body": "Called back"},
        associations=[PublicAssociationsForObject(to=PublicObjectId(id=contact.id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)])]))
    linked = client.crm.objects.notes.basic_api.get_by_id(note.id, properties=["hs_note_body"], associations=["contacts"])
    out["noteBody"] = linked.properties["hs_note_body"]
    out["noteContact"] = linked.associations["contacts"].results[0].id == contact.id

    company = client.crm.companies.basic_api.create(simple_public_object_input_for_create=CompanyInput(
        properties={"name": "Counted"}, associations=[PublicAssociationsForObject(to=PublicObjectId(id=contact.id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=2)])]))
    out["numContacts"] = client.crm.companies.basic_api.get_by_id(company.id, properties=["num_associated_contacts"]).properties["num_associated_contacts"]
    out["primaryCompany"] = client.crm.contacts.basic_api.get_by_id(contact.id, properties=["associatedcompanyid"]).properties["associatedcompanyid"] == company.id

    users = client.crm.objects.basic_api.get_page("users", properties=["hs_email", "hubspot_owner_id"])
    out["userEmail"] = users.results[0].properties["hs_email"]
    out["userOwner"] = users.results[0].properties["hubspot_owner_id"] == owner.id
    return {"outputFields": out}
`

// TestHubSpotPythonCRMAgainstSpoke runs pythonCRMSample in the sandbox
// against a real spoke serve.
func TestHubSpotPythonCRMAgainstSpoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts spoke serve")
	}
	t.Parallel()
	addr, _ := startSpoke(t)
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/spoke/v1/owners", strings.NewReader(`{"email":"olga@example.com","firstName":"Olga","lastName":"Owner"}`))
	req.Header.Set("Authorization", "Bearer pat-test-token-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create owner: %s", resp.Status)
	}
	p, err := sandbox.NewPool(sandbox.Config{APIURL: "http://" + addr, SpareWorkers: -1, MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res := invokeWith(t, p, "PYTHON39", pythonCRMSample, nil)
	wantSuccess(t, res)
	want := map[string]any{"ownerName": "Olga Owner", "ownerByUser": true, "ownerMissing": float64(404), "stages": float64(7), "wonProbability": "1.0",
		"schemaCount": float64(1), "schemaName": "machines", "machineSerial": "M-1", "noteBody": "Called back", "noteContact": true,
		"numContacts": "1", "primaryCompany": true, "userEmail": "olga@example.com", "userOwner": true}
	for k, v := range want {
		if res.OutputFields[k] != v {
			t.Errorf("%s = %#v, want %#v (outputs %v, logs %s)", k, res.OutputFields[k], v, res.OutputFields, res.Logs)
		}
	}
	if id, _ := res.OutputFields["schemaId"].(string); !strings.HasPrefix(id, "2-") {
		t.Errorf("schema id %v", res.OutputFields["schemaId"])
	}
}
