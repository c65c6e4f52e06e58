//! The cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey (with and
//! without plaintext) and GenerateRandom, over the ciphertext format of [`super::blob`].
//! Encrypt and Decrypt with an RSA algorithm go to `asym`; symmetric operations refuse
//! asymmetric keys as AWS does.

use super::*;

/// InvalidKeyUsageException unless `key` has `usage`, in AWS's words ("<key ARN> key usage is
/// GENERATE_VERIFY_MAC which is not valid for Encrypt.").
pub(super) fn check_usage(key: &Key, usage: &str, action: &str) -> Result<(), KmsError> {
    if key.key_usage == usage {
        return Ok(());
    }
    Err(KmsError::invalid_key_usage(format!(
        "{} key usage is {} which is not valid for {}.",
        key.arn,
        key.key_usage,
        action.trim_start_matches("kms:")
    )))
}

impl Kms {
    pub(super) fn check_grant_tokens(&self, tokens: Option<&[String]>) -> Result<(), KmsError> {
        let Some(tokens) = tokens else { return Ok(()) };
        let state = self.state.read().expect("kms lock");
        for t in tokens {
            if !state
                .keys
                .values()
                .any(|k| k.grants.iter().any(|g| &g.token == t))
            {
                return Err(KmsError::invalid_grant_token());
            }
        }
        Ok(())
    }

    pub(super) fn check_algorithm(algorithm: Option<&str>) -> Result<(), KmsError> {
        match algorithm {
            None | Some("SYMMETRIC_DEFAULT") => Ok(()),
            Some(other) => Err(KmsError::invalid_key_usage(format!(
                "The encryption algorithm {other} is not valid for a SYMMETRIC_DEFAULT key: use SYMMETRIC_DEFAULT."
            ))),
        }
    }

    /// Resolves, authorizes and state-checks a key for a cryptographic operation, returning a
    /// copy of the key (its material is zeroised when the copy drops).
    pub(super) fn crypto_key(
        &self,
        call: &mut Call,
        key_id: &str,
        action: &str,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<UsableKey, KmsError> {
        let key = self.usable_key(call, key_id, action, model::ENCRYPT_DECRYPT, ec, extra)?;
        asym::refuse_asymmetric(&key, action)?;
        Ok(key)
    }

    /// Like [`Self::crypto_key`], for a key of `usage`.
    pub(super) fn usable_key(
        &self,
        call: &mut Call,
        key_id: &str,
        action: &str,
        usage: &str,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<UsableKey, KmsError> {
        let state = self.state.read().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, KeyForm::Any)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let alias = resolved.alias.clone();
        self.authorize_key(
            &state,
            call,
            key,
            action,
            CrossAccount::Allowed,
            ec,
            &move |ctx| {
                if let Some(a) = &alias {
                    ctx.set("kms:RequestAlias", a.clone());
                }
                extra(ctx);
            },
        )?;
        check_state(StateRule::Crypto, key)?;
        check_usage(key, usage, action)?;
        let material = key
            .current_material()
            .ok_or_else(|| KmsError::internal("the key has no material"))?
            .clone();
        Ok(UsableKey {
            id: key.id.clone(),
            arn: key.arn.clone(),
            material,
        })
    }

    /// Encrypt.
    pub fn encrypt(&self, call: &mut Call, input: EncryptInput) -> Result<EncryptOutput, KmsError> {
        if input.plaintext.is_empty() {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if input.plaintext.len() > MAX_PLAINTEXT {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
            ));
        }
        if input
            .encryption_algorithm
            .as_deref()
            .is_some_and(|a| a != "SYMMETRIC_DEFAULT")
        {
            let algorithm = input.encryption_algorithm.clone().unwrap_or_default();
            return self.encrypt_asymmetric(call, input, &algorithm);
        }
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let ec = input.encryption_context.as_ref();
        call.notes.encryption_context = input.encryption_context.clone();
        let key = self.crypto_key(call, &input.key_id, "kms:Encrypt", ec, &|ctx| {
            ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        })?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let material = &key.material;
        let blob = blob::seal(
            &key.arn,
            &material.id,
            &material.bytes.0,
            &input.plaintext,
            ec,
        );
        Ok(EncryptOutput {
            ciphertext_blob: Zeroizing::new(blob),
            key_id: key.arn,
            encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
        })
    }

    /// Finds the key a ciphertext names and decrypts it, authorizing `action`.
    pub(super) fn open_blob(
        &self,
        call: &mut Call,
        ciphertext: &[u8],
        key_id: Option<&str>,
        ec: Option<&EncryptionContext>,
        action: &str,
    ) -> Result<(UsableKey, Bytes), KmsError> {
        let (header, header_end) =
            blob::parse_header(ciphertext).ok_or_else(KmsError::invalid_ciphertext)?;
        let state = self.state.read().expect("kms lock");
        let parts: Vec<&str> = header.key_arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[3] != self.region {
            return Err(KmsError::invalid_ciphertext());
        }
        let blob_key_id = parts[5].trim_start_matches("key/");
        let Some(key) = state
            .keys
            .get(blob_key_id)
            .filter(|k| k.arn == header.key_arn)
        else {
            return Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                header.key_arn
            )));
        };
        call.notes.resources.push(key.arn.clone());
        // A bare key id naming the blob's own key is accepted even across accounts (AWS: "a
        // short key ID is accepted for symmetric ciphertexts"); anything else must resolve.
        if let Some(requested) = key_id.filter(|k| *k != key.id) {
            let resolved = self.resolve(&state, call, requested, KeyForm::Any)?;
            if resolved.key_id != key.id {
                return Err(KmsError::incorrect_key());
            }
        }
        self.authorize_key(
            &state,
            call,
            key,
            action,
            CrossAccount::Allowed,
            ec,
            &|ctx| {
                ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            },
        )?;
        check_state(StateRule::Crypto, key)?;
        let material = key
            .materials
            .iter()
            .find(|m| m.id == header.material_id)
            .ok_or_else(KmsError::invalid_ciphertext)?;
        let plaintext = blob::open(ciphertext, header_end, &material.bytes.0, ec)
            .ok_or_else(KmsError::invalid_ciphertext)?;
        Ok((
            UsableKey {
                id: key.id.clone(),
                arn: key.arn.clone(),
                material: material.clone(),
            },
            plaintext,
        ))
    }

    /// Decrypt.
    pub fn decrypt(&self, call: &mut Call, input: DecryptInput) -> Result<DecryptOutput, KmsError> {
        if input.ciphertext_blob.is_empty() || input.ciphertext_blob.len() > blob::MAX_BLOB {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144",
            ));
        }
        if input
            .encryption_algorithm
            .as_deref()
            .is_some_and(|a| a != "SYMMETRIC_DEFAULT")
        {
            let algorithm = input.encryption_algorithm.clone().unwrap_or_default();
            return self.decrypt_asymmetric(call, input, &algorithm);
        }
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        call.notes.encryption_context = input.encryption_context.clone();
        let (key, plaintext) = self.open_blob(
            call,
            &input.ciphertext_blob,
            input.key_id.as_deref(),
            input.encryption_context.as_ref(),
            "kms:Decrypt",
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        Ok(DecryptOutput {
            key_id: key.arn,
            plaintext,
            encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            key_material_id: Some(key.material.id.clone()),
        })
    }

    /// ReEncrypt.
    pub fn re_encrypt(
        &self,
        call: &mut Call,
        input: ReEncryptInput,
    ) -> Result<ReEncryptOutput, KmsError> {
        Self::check_algorithm(input.source_encryption_algorithm.as_deref())?;
        Self::check_algorithm(input.destination_encryption_algorithm.as_deref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        call.notes.encryption_context = input.destination_encryption_context.clone();
        let (source, plaintext) = self
            .open_blob(
                call,
                &input.ciphertext_blob,
                input.source_key_id.as_deref(),
                input.source_encryption_context.as_ref(),
                "kms:ReEncryptFrom",
            )
            .map_err(|e| {
                if e.code == "IncorrectKeyException" {
                    KmsError::incorrect_key()
                } else {
                    e
                }
            })?;
        let same_key = {
            let state = self.state.read().expect("kms lock");
            self.resolve(&state, call, &input.destination_key_id, KeyForm::Any)
                .is_ok_and(|r| r.key_id == source.id)
        };
        let dest = self.crypto_key(
            call,
            &input.destination_key_id,
            "kms:ReEncryptTo",
            input.destination_encryption_context.as_ref(),
            &move |ctx| {
                ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
                ctx.set("kms:ReEncryptOnSameKey", same_key.to_string());
            },
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let material = &dest.material;
        let blob = blob::seal(
            &dest.arn,
            &material.id,
            &material.bytes.0,
            &plaintext,
            input.destination_encryption_context.as_ref(),
        );
        Ok(ReEncryptOutput {
            ciphertext_blob: Zeroizing::new(blob),
            source_key_id: source.arn,
            key_id: dest.arn.clone(),
            source_encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            destination_encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            source_key_material_id: source.material.id.clone(),
            destination_key_material_id: material.id.clone(),
        })
    }

    /// GenerateDataKey (with `with_plaintext`) or GenerateDataKeyWithoutPlaintext.
    pub fn generate_data_key(
        &self,
        call: &mut Call,
        input: GenerateDataKeyInput,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyOutput, KmsError> {
        let length = match (&input.key_spec, input.number_of_bytes) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(KmsError::validation(
                    "Please specify either number of bytes or key spec.",
                ));
            }
            (Some(spec), None) => match spec.as_str() {
                "AES_256" => 32,
                "AES_128" => 16,
                other => {
                    return Err(KmsError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
                    )));
                }
            },
            (None, Some(n)) => validate_number_of_bytes(n)?,
        };
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let action = if with_plaintext {
            "kms:GenerateDataKey"
        } else {
            "kms:GenerateDataKeyWithoutPlaintext"
        };
        let ec = input.encryption_context.as_ref();
        call.notes.encryption_context = input.encryption_context.clone();
        let spec = input.key_spec.clone();
        let key = self.crypto_key(call, &input.key_id, action, ec, &move |ctx| {
            if let Some(s) = &spec {
                ctx.set("kms:DataKeyKeySpec", s.clone());
            }
        })?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let mut data_key = Zeroizing::new(vec![0u8; length]);
        rand::rng().fill_bytes(&mut data_key);
        let material = &key.material;
        let blob = blob::seal(&key.arn, &material.id, &material.bytes.0, &data_key, ec);
        Ok(GenerateDataKeyOutput {
            ciphertext_blob: Zeroizing::new(blob),
            plaintext: with_plaintext.then_some(data_key),
            key_id: key.arn.clone(),
            key_material_id: material.id.clone(),
        })
    }

    /// GenerateRandom.
    pub fn generate_random(
        &self,
        call: &mut Call,
        input: GenerateRandomInput,
    ) -> Result<GenerateRandomOutput, KmsError> {
        let n = input
            .number_of_bytes
            .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
        let length = validate_number_of_bytes(n)?;
        if input.custom_key_store_id.is_some() {
            return Err(KmsError::unsupported(
                "Custom key stores are not modelled by the keylab engine.",
            ));
        }
        self.authorize_identity(call, "kms:GenerateRandom", "*", &|_| {})?;
        let mut bytes = Zeroizing::new(vec![0u8; length]);
        rand::rng().fill_bytes(&mut bytes);
        Ok(GenerateRandomOutput { plaintext: bytes })
    }
}

fn validate_number_of_bytes(n: i64) -> Result<usize, KmsError> {
    if n < 1 {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    if n > 1024 {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
        )));
    }
    Ok(n as usize)
}
