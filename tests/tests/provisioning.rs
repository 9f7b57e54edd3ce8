//! Local provisioning is derived from template.yaml: what the template declares is what exists.

use integration_tests::TestStack;
use local_stack::Template;

#[tokio::test]
async fn the_local_table_and_queues_match_the_template() {
    let stack = TestStack::new().await;
    let template = Template::load(&local_stack::template_path()).unwrap();

    let table = stack
        .setup
        .dynamodb
        .describe_table()
        .table_name(stack.stack.reference("CampaignTable").unwrap())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut local: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    local.sort();
    let declared = template.resources["CampaignTable"].properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| i["IndexName"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(local, declared);

    let attributes = stack
        .setup
        .sqs
        .get_queue_attributes()
        .queue_url(stack.queue_url("TimersQueue"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    let declared = &template.resources["TimersQueue"].properties;
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        declared["RedrivePolicy"]["maxReceiveCount"]
            .as_u64()
            .unwrap()
            .to_string()
    );
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        declared["VisibilityTimeout"].as_u64().unwrap().to_string()
    );
}
