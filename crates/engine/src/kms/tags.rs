//! Tags: TagResource, UntagResource and ListResourceTags.

use super::*;

impl Kms {
    /// TagResource.
    pub fn tag_resource(
        &self,
        call: &mut Call,
        input: TagResourceInput,
    ) -> Result<Empty, KmsError> {
        validate_tags(&input.tags)?;
        let tags = input.tags.clone();
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:TagResource",
                CrossAccount::Never,
                StateRule::NotPendingDeletion,
            ),
            &move |ctx| {
                for t in &tags {
                    ctx.set(
                        &format!("aws:RequestTag/{}", t.tag_key),
                        t.tag_value.clone(),
                    );
                }
                ctx.set_many(
                    "aws:TagKeys",
                    tags.iter().map(|t| t.tag_key.clone()).collect(),
                );
            },
            |k, _| {
                for t in input.tags {
                    k.tags.insert(t.tag_key, t.tag_value);
                }
                if k.tags.len() > 50 {
                    return Err(KmsError::limit_exceeded("A key can have at most 50 tags."));
                }
                Ok(Empty {})
            },
        )
    }

    /// UntagResource.
    pub fn untag_resource(
        &self,
        call: &mut Call,
        input: UntagResourceInput,
    ) -> Result<Empty, KmsError> {
        let keys = input.tag_keys.clone();
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:UntagResource",
                CrossAccount::Never,
                StateRule::NotPendingDeletion,
            ),
            &move |ctx| ctx.set_many("aws:TagKeys", keys.clone()),
            |k, _| {
                for t in &input.tag_keys {
                    k.tags.remove(t);
                }
                Ok(Empty {})
            },
        )
    }

    /// ListResourceTags.
    pub fn list_resource_tags(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListResourceTagsOutput, KmsError> {
        let key_id = input
            .key_id
            .clone()
            .ok_or_else(|| KmsError::missing("keyId"))?;
        let tags = self.with_key(
            call,
            &key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListResourceTags", CrossAccount::Never, StateRule::Any),
            |k| {
                Ok(k.tags
                    .iter()
                    .map(|(k, v)| Tag {
                        tag_key: k.clone(),
                        tag_value: v.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (tags, next_marker) = page(tags, input.limit, input.marker.as_deref())?;
        Ok(ListResourceTagsOutput {
            tags,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }
}
